//! `-R`: ipvsadm commands read from standard input, one per line, in the
//! form `-S` writes them.

/// One command line of the input: its 1-based line number and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Line number, for error messages.
    pub number: usize,
    /// The words, without a leading `ipvsadm` and without comments.
    pub args: Vec<String>,
}

/// Splits restore input into command lines: words are separated by blanks,
/// `#` starts a comment, blank lines are skipped and the word `ipvsadm` is
/// ignored (so both `-A -t …` and `ipvsadm -A -t …` lines work).
pub fn lines(input: &str) -> Vec<Line> {
    let mut out = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        let args: Vec<String> = line
            .split_whitespace()
            .filter(|w| *w != "ipvsadm")
            .map(String::from)
            .collect();
        if !args.is_empty() {
            out.push(Line {
                number: i + 1,
                args,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_and_skips_noise() {
        let got = lines(
            "-A -t 10.0.0.1:80 -s rr\n\n# a comment\nipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -g -w 1  # trailing\n\t-C\r\n",
        );
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].number, 1);
        assert_eq!(got[0].args, ["-A", "-t", "10.0.0.1:80", "-s", "rr"]);
        assert_eq!(got[1].number, 4);
        assert_eq!(got[1].args[0], "-a");
        assert_eq!(got[1].args.last().unwrap(), "1");
        assert_eq!(got[2].args, ["-C"]);
    }
}
