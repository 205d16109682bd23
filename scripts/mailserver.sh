#!/usr/bin/env bash
# A throw-away mail server on loopback for tests: Postfix (SMTP and submission) delivering over
# LMTP to Dovecot (IMAP with IDLE, Maildir, and the SASL logins Postfix checks), all under one
# state directory, without systemd and without touching the system's own mail configuration.
# Needs root (both drop privileges themselves) and the Debian packages postfix, dovecot-imapd,
# dovecot-lmtpd and openssl (scripts/install-deps.sh installs them).
#
# usage: mailserver.sh start|stop|status|restart|reset
#   MS_DIR       state directory; every parent must be searchable by the users postfix,
#                dovecot and vmail (default ${TMPDIR:-/tmp}/sotto-mailserver)
#   MS_DOMAIN    the mail domain (default sotto.test)
#   MS_USERS     "user:password ..." mailboxes, as user@MS_DOMAIN (default alice, bob and carol
#                with password "secret")
#   MS_PORTBASE  two digits that prefix the default ports (default 14: 14143, 14025, ...)
#   MS_IMAP_PORT, MS_IMAPS_PORT, MS_SMTP_PORT, MS_SUBMISSION_PORT, MS_SUBMISSIONS_PORT,
#   MS_LMTP_PORT, MS_AUTH_PORT   each port by itself, overriding MS_PORTBASE
#   MS_ARCHIVE=1 Postfix also delivers a copy of every accepted mail to archive@MS_DOMAIN
#                (password "secret"), to look at mails as they went over the wire
#   MS_NO_IDLE=1 the IMAP server does not offer IDLE (for clients that must poll)
#
# Ports, all on 127.0.0.1 (with the default base):
#   IMAP         14143  plain, STARTTLS offered        IMAPS        14993  implicit TLS
#   SMTP         14025  MX-style: no AUTH, only mail to MS_DOMAIN
#   submission   14587  AUTH PLAIN/LOGIN, STARTTLS offered
#   submissions  14465  AUTH PLAIN/LOGIN, implicit TLS
#   LMTP         14024  Postfix to Dovecot             auth         14026  Postfix SASL to Dovecot
# TLS uses a self-signed certificate for localhost, 127.0.0.1, mail.MS_DOMAIN and
# autoconfig.MS_DOMAIN (a test may serve an autoconfig file with it), kept in
# MS_DIR/ssl/cert.pem: clients trust that file or accept any certificate.
# Delivered mail lands in MS_DIR/vmail/MS_DOMAIN/USER/Maildir/new/.
set -euo pipefail

MS_DIR=${MS_DIR:-${TMPDIR:-/tmp}/sotto-mailserver}
MS_DOMAIN=${MS_DOMAIN:-sotto.test}
MS_USERS=${MS_USERS:-"alice:secret bob:secret carol:secret"}
B=${MS_PORTBASE:-14}
IMAP=${MS_IMAP_PORT:-${B}143}
IMAPS=${MS_IMAPS_PORT:-${B}993}
SMTP=${MS_SMTP_PORT:-${B}025}
SUBM=${MS_SUBMISSION_PORT:-${B}587}
SUBMS=${MS_SUBMISSIONS_PORT:-${B}465}
LMTP=${MS_LMTP_PORT:-${B}024}
AUTH=${MS_AUTH_PORT:-${B}026}

D=$MS_DIR
DV=$D/dovecot
PF=$D/postfix
PFQ=$D/postfix-spool
PFDATA=$D/postfix-data
RUN=$D/run
LOG=$D/log
VMAIL=$D/vmail

die() {
  echo "mailserver: $*" >&2
  exit 1
}

check_prerequisites() {
  [ "$(id -u)" -eq 0 ] || die "needs root: Postfix and Dovecot start as root and drop privileges"
  local missing=""
  for tool in dovecot postfix openssl runuser; do
    command -v "$tool" >/dev/null || missing="$missing $tool"
  done
  [ -x /usr/lib/postfix/sbin/master ] || missing="$missing postfix(master)"
  [ -x /usr/lib/dovecot/lmtp ] || missing="$missing dovecot-lmtpd"
  [ -x /usr/lib/dovecot/imap ] || missing="$missing dovecot-imapd"
  [ -z "$missing" ] || die "missing:$missing (run scripts/install-deps.sh)"
}

# The mailbox owner; a system user that owns nothing else.
ensure_vmail_user() {
  # Two servers starting at once may race to create it; either one winning is fine.
  id vmail >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin vmail ||
    id vmail >/dev/null 2>&1
}

gen_config() {
  mkdir -p "$DV" "$PF" "$RUN" "$LOG" "$VMAIL" "$D/ssl"
  chmod 755 "$D"
  chown vmail:vmail "$VMAIL"
  for user in postfix dovecot vmail; do
    runuser -u "$user" -- test -x "$D" ||
      die "$D is not reachable for the user $user: make its parent directories searchable"
  done
  if [ ! -f "$D/ssl/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mail.$MS_DOMAIN" \
      -addext "subjectAltName=DNS:mail.$MS_DOMAIN,DNS:autoconfig.$MS_DOMAIN,DNS:localhost,IP:127.0.0.1" \
      -keyout "$D/ssl/key.pem" -out "$D/ssl/cert.pem" 2>/dev/null
    chmod 644 "$D/ssl/cert.pem"
    chmod 640 "$D/ssl/key.pem"
    chgrp postfix "$D/ssl/key.pem"
  fi

  # Users: Dovecot's password file and Postfix's table of the addresses it accepts.
  : >"$DV/users"
  : >"$PF/vmailbox"
  local users=$MS_USERS
  [ "${MS_ARCHIVE:-0}" = 1 ] && users="$users archive:secret"
  for entry in $users; do
    local user=${entry%%:*} password=${entry#*:}
    echo "$user@$MS_DOMAIN:{PLAIN}$password::::::" >>"$DV/users"
    echo "$user@$MS_DOMAIN OK" >>"$PF/vmailbox"
  done
  chmod 640 "$DV/users"
  chgrp dovecot "$DV/users"

  # MS_NO_IDLE=1: a server that does not offer IDLE, for clients that must poll.
  no_idle=
  if [ "${MS_NO_IDLE:-}" = 1 ]; then
    no_idle="  imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UIDPLUS NAMESPACE"
  fi
  cat >"$DV/dovecot.conf" <<EOF
base_dir = $RUN/dovecot
state_dir = $RUN/dovecot-state
# Unique per instance, so that several test servers can run side by side.
instance_name = sotto-test-$IMAP
log_path = $LOG/dovecot.log
listen = 127.0.0.1
protocols = imap lmtp
ssl = yes
ssl_cert = <$D/ssl/cert.pem
ssl_key = <$D/ssl/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
# A loopback test server: clients may also log in without TLS, to test that they refuse to.
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $DV/users
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=$VMAIL/%d/%n
}
mail_location = maildir:~/Maildir
mail_plugins = quota
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \Drafts
    auto = create
  }
  mailbox Sent {
    special_use = \Sent
    auto = create
  }
  mailbox Trash {
    special_use = \Trash
    auto = create
  }
  mailbox Junk {
    special_use = \Junk
    auto = create
  }
}
protocol imap {
  mail_plugins = \$mail_plugins imap_quota
  imap_metadata = yes
  imap_idle_notify_interval = 2 mins
$no_idle
}
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=1G
}
mail_attribute_dict = file:%h/dovecot-attributes
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP
  }
}
lmtp_add_received_header = no
service auth {
  inet_listener auth-inet {
    address = 127.0.0.1
    port = $AUTH
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF

  # Postfix with its own configuration, queue and data directories, no chroot, a log file.
  mkdir -p "$PFQ" "$PFDATA"
  chown postfix "$PFDATA"
  cat >"$PF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PFQ
data_directory = $PFDATA
meta_directory = /etc/postfix
maillog_file = $LOG/postfix.log
maillog_file_prefixes = $LOG
myhostname = mail.$MS_DOMAIN
mydomain = $MS_DOMAIN
myorigin = \$mydomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
relay_domains =
virtual_mailbox_domains = $MS_DOMAIN
virtual_mailbox_maps = texthash:$PF/vmailbox
virtual_transport = lmtp:inet:127.0.0.1:$LMTP
lmtp_host_lookup = native
smtp_host_lookup = native
disable_dns_lookups = yes
message_size_limit = 104857600
smtpd_banner = \$myhostname ESMTP sotto-test
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = reject_unlisted_recipient
smtpd_tls_cert_file = $D/ssl/cert.pem
smtpd_tls_key_file = $D/ssl/key.pem
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$AUTH
smtpd_sasl_auth_enable = no
smtpd_tls_auth_only = no
biff = no
append_dot_mydomain = no
EOF
  [ "${MS_ARCHIVE:-0}" = 1 ] && echo "always_bcc = archive@$MS_DOMAIN" >>"$PF/main.cf"
  cat >"$PF/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$SMTP  inet n - n - - smtpd
127.0.0.1:$SUBM  inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:$SUBMS inet n - n - - smtpd
  -o syslog_name=postfix/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  # Postfix waits until its configuration files are older than now (a stall of about 1.5 s
  # at start); files written a moment ago are backdated.
  touch -d '-10 seconds' "$PF/main.cf" "$PF/master.cf" "$PF/vmailbox" "$DV/dovecot.conf" \
    "$DV/users"
}

postfix_pid() { [ -f "$PFQ/pid/master.pid" ] && tr -d ' ' <"$PFQ/pid/master.pid"; }
dovecot_pid() { [ -f "$RUN/dovecot/master.pid" ] && cat "$RUN/dovecot/master.pid"; }

running() {
  local p
  { p=$(dovecot_pid) && kill -0 "$p"; } 2>/dev/null || { p=$(postfix_pid) && kill -0 "$p"; } 2>/dev/null
}

start() {
  check_prerequisites
  running && die "already running in $D (use restart)"
  ensure_vmail_user
  gen_config
  dovecot -c "$DV/dovecot.conf"
  # The first start goes through "postfix start", which checks the installation and makes the
  # queue directories; later ones start the master daemon directly, which is faster.
  if [ -d "$PFQ/pid" ]; then
    /usr/lib/postfix/sbin/master -c "$PF" -w </dev/null >/dev/null 2>&1
  else
    postfix -c "$PF" start >>"$LOG/postfix-start.log" 2>&1 || {
      cat "$LOG/postfix-start.log" >&2
      die "postfix did not start"
    }
  fi
  for port in $IMAP $IMAPS $SUBM $SUBMS $SMTP $LMTP $AUTH; do
    local up=0
    for _ in $(seq 200); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        up=1
        break
      fi
      sleep 0.05
    done
    if [ $up = 0 ]; then
      tail -n 20 "$LOG"/*.log >&2 || true
      die "port $port did not come up; the logs are in $LOG"
    fi
  done
  echo "mailserver up: IMAP 127.0.0.1:$IMAP, submission 127.0.0.1:$SUBM (STARTTLS)," \
    "submissions 127.0.0.1:$SUBMS, domain $MS_DOMAIN, certificate $D/ssl/cert.pem"
}

stop() {
  # Both masters at once, then wait for them (Postfix takes about 2 s, Dovecot about 3 s).
  local pids="" p
  if p=$(postfix_pid) && kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p"
    pids="$pids $p"
  fi
  if p=$(dovecot_pid) && kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p"
    pids="$pids $p"
  fi
  for p in $pids; do
    for _ in $(seq 200); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.05
    done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
  done
  # Dovecot's login and imap processes outlive its master with their connections; a stopped
  # server leaves none open.
  pkill -KILL -f "^dovecot-sotto-test-$IMAP/" 2>/dev/null || true
  echo "mailserver stopped"
}

status() {
  local p
  if p=$(dovecot_pid) && kill -0 "$p" 2>/dev/null; then echo "dovecot pid $p"; else echo "dovecot down"; fi
  if p=$(postfix_pid) && kill -0 "$p" 2>/dev/null; then echo "postfix pid $p"; else echo "postfix down"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart)
    stop
    start
    ;;
  status) status ;;
  reset)
    stop
    rm -rf "$D"
    ;;
  *)
    echo "usage: $0 start|stop|restart|status|reset" >&2
    exit 2
    ;;
esac
