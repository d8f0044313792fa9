#!/usr/bin/python3
"""A real SMTP server for the alert tests (Debian's python3-aiosmtpd):
STARTTLS (required) or TLS from the first byte or plain, AUTH PLAIN/LOGIN
against one user, each accepted message saved as a file in --out."""

import argparse
import os
import signal
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

p = argparse.ArgumentParser()
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, required=True)
p.add_argument("--cert", required=True)
p.add_argument("--key", required=True)
p.add_argument("--user", default="")
p.add_argument("--password", default="")
p.add_argument("--out", required=True)
p.add_argument("--mode", choices=["starttls", "tls", "plain"], default="starttls")
args = p.parse_args()

ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(args.cert, args.key)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        base = os.path.join(args.out, "%d" % time.time_ns())
        head = "X-Test-Envelope: from=%s to=%s tls=%s auth=%s\r\n" % (
            envelope.mail_from,
            ",".join(envelope.rcpt_tos),
            server.transport.get_extra_info("ssl_object") is not None,
            session.authenticated,
        )
        with open(base + ".tmp", "wb") as f:
            f.write(head.encode() + envelope.original_content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 2.0.0 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == args.user.encode()
        and auth_data.password == args.password.encode()
    )
    return AuthResult(success=ok, handled=False)


kw = dict(hostname=args.host, port=args.port)
if args.user:
    # aiosmtpd 1.4 counts only STARTTLS as TLS for AUTH; with TLS from
    # the first byte every command is encrypted anyway.
    kw.update(authenticator=authenticator, auth_require_tls=args.mode == "starttls")
if args.mode == "starttls":
    kw.update(tls_context=ctx, require_starttls=True)
elif args.mode == "tls":
    kw.update(ssl_context=ctx)
ctrl = Controller(Handler(), ready_timeout=10, **kw)
ctrl.start()
print("READY", flush=True)
signal.signal(signal.SIGTERM, lambda *_: (ctrl.stop(), sys.exit(0)))
while True:
    time.sleep(3600)
