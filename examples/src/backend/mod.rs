//! `backend`: prepares a DR real server (VIP on lo, ARP suppression), audits it, undoes it.
