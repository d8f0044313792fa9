//! What the init scripts ask of the configuration: the `/data` layout on
//! first boot, the account database, the host name and the network.
//! Each step is a function over explicit paths so host tests can run it.

pub mod accounts;
pub mod layout;
pub mod network;
