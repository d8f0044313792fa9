//! What the init scripts ask of the configuration: the `/data` layout on
//! first boot and its growth on a larger disk, the account database, the
//! host name and the network.
//! Each step is a function over explicit paths so host tests can run it.

pub mod accounts;
pub mod grow;
pub mod layout;
pub mod network;
