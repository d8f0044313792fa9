use std::net::IpAddr;

/// Why a share could not be used, in the words an administrator acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmbError {
    #[error("{0}")]
    Setting(String),
    #[error(
        "{name} is a name, but no DNS server is configured: set one in the network settings or use the server's IP address"
    )]
    NoDnsServer { name: String },
    #[error(
        "the name {name} does not resolve (check the name and the DNS servers, or use the IP address)"
    )]
    NameDoesNotResolve { name: String },
    #[error("no DNS server answered the question for {name} ({detail})")]
    DnsUnreachable { name: String, detail: String },
    #[error("host unreachable: {addr} does not answer on port {port}")]
    HostUnreachable { addr: IpAddr, port: u16 },
    #[error("the server {addr} refuses connections on port {port} (is file sharing on?)")]
    ConnectionRefused { addr: IpAddr, port: u16 },
    #[error("bad user name or password")]
    BadCredentials,
    #[error("access denied: this user may not use the share")]
    AccessDenied,
    #[error("the account is disabled, locked or its password has expired")]
    AccountUnusable,
    #[error("bad user name or password, or this user may not use the share")]
    BadCredentialsOrDenied,
    #[error("the share {share} does not exist on the server")]
    ShareMissing { share: String },
    #[error("the folder {path} does not exist in the share")]
    PathMissing { path: String },
    #[error("the share {share} or the folder {path} does not exist")]
    ShareOrPathMissing { share: String, path: String },
    #[error(
        "the server speaks no SMB version this appliance uses (SMB 2.1 or newer; SMB1 is never used)"
    )]
    NoDialect,
    #[error("this system's kernel has no SMB (cifs) support")]
    NoCifs,
    #[error("this system's kernel lacks the encryption SMB 3 needs (a crypto module is missing)")]
    NoKernelCrypto,
    #[error("the server stopped answering during the connection")]
    TimedOut,
    #[error("mounting the share failed: {0}")]
    Mount(String),
    #[error("unmounting the share failed: {0}")]
    Unmount(String),
    #[error("cutting the share off from its server failed: {0}")]
    Cutoff(String),
    #[error(
        "the server does not encrypt (SMB 3 encryption): {0}; turn encryption on for the share (Samba: smb encrypt = desired; Windows: Set-SmbShare -EncryptData $true) or set Encryption to auto"
    )]
    NoEncryption(String),
}
