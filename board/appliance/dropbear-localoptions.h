/* Dropbear of the Buildroot build (BR2_PACKAGE_DROPBEAR_LOCALOPTIONS_FILE):
 * its only login is sysconfig, whose program is the console menu, so
 * nothing but a session with a terminal is compiled in. sshgate also
 * passes -j -k (the local image's Debian Dropbear has these built in). */
#define DROPBEAR_SVR_AGENTFWD 0
#define DROPBEAR_X11FWD 0
#define DROPBEAR_SVR_LOCALTCPFWD 0
#define DROPBEAR_SVR_REMOTETCPFWD 0
#define DROPBEAR_SVR_LOCALSTREAMFWD 0
#define DROPBEAR_SFTPSERVER 0
#define DO_MOTD 0
