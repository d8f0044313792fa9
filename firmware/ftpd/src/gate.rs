//! Who gets a session: the FTP Access List first (an empty list lets nobody
//! in), then a block on addresses that kept guessing passwords
//! ([`crate::logins`]), then limits on sessions ([`admission`], shared with
//! sshgate). A refused connection is told why in FTP's words and closed
//! before the greeting, and logged at most once a minute per address.

pub use admission::{Gate, Load, Refusal};

/// Sessions at once, in all.
pub const MAX_SESSIONS: usize = 32;
/// Sessions at once from one address (a mirror job opens a few).
pub const MAX_PER_ADDRESS: usize = 8;

/// ftpd's admission.
pub fn gate() -> Gate {
    Gate::new(
        "FTP",
        admission::Limits {
            sessions: MAX_SESSIONS,
            per_address: MAX_PER_ADDRESS,
        },
    )
}

/// What the client is told before the connection closes. Addresses off the
/// list learn nothing about the appliance.
pub fn reply(refusal: &Refusal) -> &'static [u8] {
    match refusal {
        Refusal::ListEmpty | Refusal::NotListed => b"421 Service not available.\r\n",
        Refusal::Blocked { .. } => b"421 Too many failed logins; try again later.\r\n",
        Refusal::TooManySessions | Refusal::TooManyFromAddress | Refusal::TooFast { .. } => {
            b"421 Too many connections; try again later.\r\n"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_list_addresses_learn_nothing() {
        assert_eq!(reply(&Refusal::NotListed), reply(&Refusal::ListEmpty));
        assert_eq!(
            reply(&Refusal::TooManyFromAddress),
            b"421 Too many connections; try again later.\r\n"
        );
        let g = gate();
        assert_eq!(g.reason(&Refusal::TooManySessions), "already 32 sessions");
    }
}
