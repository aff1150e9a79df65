//! From tokens to a tree of statements, checked against the keyword table.
//!
//! A statement is a keyword, its values, and possibly a `{ ... }` block. Values
//! are the following tokens on the keyword's line, up to the keyword's maximum
//! count; optional values stop at the next keyword of the same block. That is
//! what makes `TCP_CHECK { connect_timeout 3 retry 1 delay_before_retry 2 }`
//! three statements, not one. Errors are collected and parsing resumes after
//! the bad statement (skipping its block), so one run reports every problem once.

use crate::error::{ConfigError, ErrorKind, Location, Note, Warning};
use crate::keywords::{self, ALL_CTX, Ctx, Kw, Support};
use crate::lexer::{Token, TokenKind};
use crate::suggest::suggest;

/// A parsed statement.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// The keyword token.
    pub name: Token,
    /// Its values.
    pub args: Vec<Token>,
    /// Its block, if it opens one.
    pub body: Option<Body>,
}

impl Node {
    pub fn keyword(&self) -> &str {
        self.name.text()
    }
    pub fn loc(&self) -> &Location {
        &self.name.location
    }
}

/// The contents of a block.
#[derive(Clone, Debug)]
pub(crate) enum Body {
    /// Statements.
    Nodes(Vec<Node>),
    /// Lines of a list block, one token group per line.
    Items(Vec<Vec<Token>>),
}

pub(crate) struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    errors: &'a mut Vec<ConfigError>,
    warnings: &'a mut Vec<Warning>,
    /// Blocks currently open: keyword and its location.
    open: Vec<(String, Location)>,
    /// Contexts of the blocks being parsed, outermost first, with where each opened.
    ctx_stack: Vec<(Ctx, Location)>,
    eof_reported: bool,
}

impl<'a> Parser<'a> {
    pub fn new(
        tokens: &'a [Token],
        errors: &'a mut Vec<ConfigError>,
        warnings: &'a mut Vec<Warning>,
    ) -> Self {
        Parser {
            tokens,
            pos: 0,
            errors,
            warnings,
            open: Vec::new(),
            ctx_stack: Vec::new(),
            eof_reported: false,
        }
    }

    /// Parses the whole stream as the top level.
    pub fn parse(mut self) -> Vec<Node> {
        self.parse_nodes(Ctx::Root, false)
    }

    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos)
    }

    fn report_eof(&mut self) {
        if self.eof_reported {
            return;
        }
        self.eof_reported = true;
        let Some((kw, loc)) = self.open.last().cloned() else {
            return;
        };
        let mut err = ConfigError::new(&loc, ErrorKind::UnclosedBlock { keyword: kw });
        for (outer, oloc) in self.open.iter().rev().skip(1) {
            err = err.note(
                Some(oloc),
                format!("`{outer}`, opened here, is not closed either"),
            );
        }
        self.errors.push(err);
    }

    /// Statements up to the matching `}` (nested) or the end of input (top level).
    fn parse_nodes(&mut self, ctx: Ctx, nested: bool) -> Vec<Node> {
        let mut nodes: Vec<Node> = Vec::new();
        // The last block closed at this level: (keyword, opened at, closed at).
        let mut last_closed: Option<(String, Location, Location)> = None;
        loop {
            let Some(tok) = self.peek() else {
                if nested {
                    self.report_eof();
                }
                return nodes;
            };
            match &tok.kind {
                TokenKind::Close => {
                    self.pos += 1;
                    if nested {
                        return nodes;
                    }
                    let mut err = ConfigError::new(&tok.location, ErrorKind::UnexpectedCloseBrace);
                    if let Some((kw, open, close)) = &last_closed {
                        err = err.note(
                            Some(close),
                            format!(
                                "the `{kw}` block opened at {} was already closed here",
                                open.line_col()
                            ),
                        );
                    }
                    self.errors.push(err);
                }
                TokenKind::Open => {
                    self.errors.push(ConfigError::new(
                        &tok.location,
                        ErrorKind::UnexpectedOpenBrace { after: None },
                    ));
                    self.skip_block("{", &tok.location);
                }
                TokenKind::Quoted(s) => {
                    self.errors.push(ConfigError::new(
                        &tok.location,
                        ErrorKind::Invalid {
                            message: format!("expected a keyword, found the quoted string \"{s}\""),
                        },
                    ));
                    self.pos += 1;
                }
                TokenKind::Word(w) => match ctx.lookup(w) {
                    Some(kw) if matches!(kw.support, Support::Refused(_)) => {
                        keywords::decide(kw.support, w, &tok.location, self.errors, self.warnings);
                        self.skip_statement(w, tok);
                    }
                    Some(kw) => {
                        let node = self.parse_statement(kw, ctx);
                        // Warned keywords are checked for their values, then
                        // dropped: the model has no place for them.
                        let keep = keywords::decide(
                            kw.support,
                            w,
                            &tok.location,
                            self.errors,
                            self.warnings,
                        );
                        // A value keyword given twice: keepalived keeps the last one
                        // silently; say so, since the first one is then dead text.
                        if keep
                            && kw.block.is_none()
                            && !keywords::first_value_wins(node.keyword())
                            && let Some(prev) = nodes.iter().find(|n| n.keyword() == node.keyword())
                        {
                            self.warnings.push(Warning {
                                location: Some(node.loc().clone()),
                                message: format!(
                                    "`{}` is set again; this later value wins",
                                    node.keyword()
                                ),
                                notes: vec![Note {
                                    location: Some(prev.loc().clone()),
                                    message: "earlier value, ignored".into(),
                                }],
                            });
                        }
                        if node.body.is_some() {
                            let close = self.tokens.get(self.pos.wrapping_sub(1));
                            if let Some(close) = close.filter(|t| t.kind == TokenKind::Close) {
                                last_closed = Some((
                                    node.keyword().to_string(),
                                    node.loc().clone(),
                                    close.location.clone(),
                                ));
                            }
                        }
                        if keep {
                            nodes.push(node);
                        }
                    }
                    // keepalived ≥ 2.3's bare list: `vrrp_sync_group G { VI_1 VI_2 }`.
                    // Each word is a member; the builder checks it names an instance.
                    None if ctx == Ctx::SyncGroup && !w.starts_with('$') => {
                        self.pos += 1;
                        nodes.push(Node {
                            name: tok.clone(),
                            args: Vec::new(),
                            body: None,
                        });
                    }
                    None => {
                        self.unknown_keyword(ctx, tok, last_closed.as_ref());
                        self.skip_statement(w, tok);
                    }
                },
            }
        }
    }

    fn unknown_keyword(
        &mut self,
        ctx: Ctx,
        tok: &Token,
        last_closed: Option<&(String, Location, Location)>,
    ) {
        let word = tok.text();
        let context = ctx.describe();
        // The preprocessor replaced every defined parameter: what is left
        // in keyword position was never defined.
        if word.starts_with('$') {
            self.errors.push(ConfigError::new(
                &tok.location,
                ErrorKind::Preprocess(format!("`{word}` is not a defined parameter")),
            ));
            return;
        }
        if let Some(support) = keywords::refused_anywhere(word) {
            keywords::decide(support, word, &tok.location, self.errors, self.warnings);
            return;
        }
        let homes: Vec<Ctx> = ALL_CTX
            .iter()
            .copied()
            .filter(|c| *c != ctx && c.lookup(word).is_some())
            .collect();
        if homes.is_empty() {
            let suggestion =
                suggest(word, ctx.keywords().iter().map(|k| k.name)).map(str::to_string);
            self.errors.push(ConfigError::new(
                &tok.location,
                ErrorKind::UnknownKeyword {
                    keyword: word.to_string(),
                    context,
                    suggestion,
                },
            ));
            return;
        }
        let names: Vec<String> = homes
            .iter()
            .map(|c| match c.opener() {
                Some(o) => format!("`{o}`"),
                None => "the top level".to_string(),
            })
            .collect();
        let belongs_in = if homes == [Ctx::Root] {
            "at the top level".to_string()
        } else {
            format!("inside a {} block", names.join(" or "))
        };
        let mut err = ConfigError::new(
            &tok.location,
            ErrorKind::MisplacedKeyword {
                keyword: word.to_string(),
                context,
                belongs_in,
            },
        );
        let closed_home =
            last_closed.filter(|(kw, _, _)| homes.iter().any(|c| c.opener() == Some(kw.as_str())));
        let in_ancestor = ctx != Ctx::Root
            && (homes.contains(&Ctx::Root)
                || self
                    .ctx_stack
                    .iter()
                    .rev()
                    .skip(1)
                    .any(|(c, _)| homes.contains(c)));
        if let Some((kw, open, close)) = closed_home {
            err = err.note(
                Some(close),
                format!(
                    "the `{kw}` block opened at line {} was closed here, at line {}; is this `}}` misplaced?",
                    open.line, close.line
                ),
            );
        } else if in_ancestor && let Some((_, open)) = self.ctx_stack.last() {
            // Valid in an enclosing block: the current one was probably not closed.
            err = err.note(
                Some(open),
                format!(
                    "the `{}` block opened here is still open; is a `}}` missing before line {}?",
                    ctx.opener().unwrap_or("?"),
                    tok.location.line
                ),
            );
        }
        self.errors.push(err);
    }

    /// Skips a statement that is not parsed (unknown or refused): the
    /// keyword, the rest of its line, and its block if one follows.
    fn skip_statement(&mut self, word: &str, tok: &Token) {
        self.pos += 1;
        self.skip_rest_of_line(tok);
        if self.peek().is_some_and(|t| t.kind == TokenKind::Open) {
            self.skip_block(word, &tok.location);
        }
    }

    fn skip_rest_of_line(&mut self, first: &Token) {
        while let Some(t) = self.peek() {
            if !t.same_line(first) || t.is_brace() {
                break;
            }
            self.pos += 1;
        }
    }

    /// Skips a `{ ... }` block (the current token is its `{`), reporting it if
    /// the input ends inside it.
    fn skip_block(&mut self, keyword: &str, at: &Location) {
        self.pos += 1;
        self.open.push((keyword.to_string(), at.clone()));
        let mut depth = 1usize;
        while let Some(t) = self.peek() {
            self.pos += 1;
            match t.kind {
                TokenKind::Open => {
                    depth += 1;
                    // Name the block by the keyword before its `{` when there is one.
                    let prev = &self.tokens[self.pos - 2];
                    let opener = match &prev.kind {
                        TokenKind::Word(_) if prev.same_line(t) => {
                            let first = self.tokens[..self.pos - 1]
                                .iter()
                                .rev()
                                .take_while(|p| p.same_line(t) && !p.is_brace())
                                .last()
                                .unwrap_or(prev);
                            (first.text().to_string(), first.location.clone())
                        }
                        _ => ("{".to_string(), t.location.clone()),
                    };
                    self.open.push(opener);
                }
                TokenKind::Close => {
                    depth -= 1;
                    self.open.pop();
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
        self.report_eof();
        for _ in 0..depth {
            self.open.pop();
        }
    }

    fn parse_statement(&mut self, kw: &'static Kw, ctx: Ctx) -> Node {
        let name = &self.tokens[self.pos];
        self.pos += 1;
        let mut args = Vec::new();
        while let Some(t) = self.peek() {
            if !t.same_line(name) || t.is_brace() {
                break;
            }
            if kw.max.is_some_and(|m| args.len() >= usize::from(m)) {
                break;
            }
            if args.len() >= usize::from(kw.min)
                && matches!(&t.kind, TokenKind::Word(w) if ctx.lookup(w).is_some())
            {
                break;
            }
            args.push(t.clone());
            self.pos += 1;
        }
        if let Some(t) = self.peek() {
            let extra = t.same_line(name)
                && !t.is_brace()
                && !matches!(&t.kind, TokenKind::Word(w) if ctx.lookup(w).is_some());
            if extra {
                self.errors.push(ConfigError::new(
                    &t.location,
                    ErrorKind::TooManyArguments {
                        keyword: kw.name.to_string(),
                        token: t.text().to_string(),
                    },
                ));
                self.skip_rest_of_line(name);
            }
        }
        if args.len() < usize::from(kw.min) {
            self.errors.push(ConfigError::new(
                &name.location,
                ErrorKind::MissingArgument {
                    keyword: kw.name.to_string(),
                    expected: describe_arity(kw),
                },
            ));
        }
        let mut body = None;
        match (self.peek(), kw.block) {
            (Some(t), Some(child)) if t.kind == TokenKind::Open => {
                self.pos += 1;
                self.open.push((kw.name.to_string(), name.location.clone()));
                body = Some(if child == Ctx::List {
                    Body::Items(self.parse_items(kw.name))
                } else {
                    self.ctx_stack.push((child, name.location.clone()));
                    let nodes = self.parse_nodes(child, true);
                    self.ctx_stack.pop();
                    Body::Nodes(nodes)
                });
                self.open.pop();
            }
            (_, Some(_)) => {
                self.errors.push(ConfigError::new(
                    &name.location,
                    ErrorKind::MissingBlock {
                        keyword: kw.name.to_string(),
                    },
                ));
            }
            (Some(t), None) if t.kind == TokenKind::Open && t.same_line(name) => {
                self.errors.push(ConfigError::new(
                    &t.location,
                    ErrorKind::UnexpectedOpenBrace {
                        after: Some(kw.name.to_string()),
                    },
                ));
                self.skip_block(kw.name, &name.location);
            }
            _ => {}
        }
        Node {
            name: name.clone(),
            args,
            body,
        }
    }

    /// Lines of a list block up to its `}`.
    fn parse_items(&mut self, keyword: &str) -> Vec<Vec<Token>> {
        let mut items = Vec::new();
        loop {
            let Some(t) = self.peek() else {
                self.report_eof();
                return items;
            };
            match t.kind {
                TokenKind::Close => {
                    self.pos += 1;
                    return items;
                }
                TokenKind::Open => {
                    self.errors.push(ConfigError::new(
                        &t.location,
                        ErrorKind::Invalid {
                            message: format!("unexpected `{{` inside the list `{keyword}`"),
                        },
                    ));
                    self.skip_block("{", &t.location);
                }
                _ => {
                    let mut item = Vec::new();
                    while let Some(u) = self.peek() {
                        if !u.same_line(t) || u.is_brace() {
                            break;
                        }
                        item.push(u.clone());
                        self.pos += 1;
                    }
                    items.push(item);
                }
            }
        }
    }
}

fn describe_arity(kw: &Kw) -> String {
    let plural = |n: u8| if n == 1 { "value" } else { "values" };
    match kw.max {
        Some(m) if m == kw.min => format!("{} {}", kw.min, plural(kw.min)),
        Some(m) => format!("{} to {} values", kw.min, m),
        None => format!("at least {} {}", kw.min, plural(kw.min)),
    }
}
