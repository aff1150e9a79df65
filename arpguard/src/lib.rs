//! Who answers ARP for a VIP: backend suppression, director announcements, audits.
#![warn(missing_docs)]
