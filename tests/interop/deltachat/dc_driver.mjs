// A line-oriented driver for the real Delta Chat core, for Sotto's e-mail interop tests.
//
//   node dc_driver.mjs <data-dir>
//
// Starts deltachat-rpc-server (the Delta Chat core with a JSON-RPC interface on stdio, from
// the npm package @deltachat/stdio-rpc-server-linux-x64) with its accounts under
// <data-dir>/accounts, opens one account there (creating it on the first run), then reads one
// JSON command per line from stdin and writes exactly one JSON answer per line to stdout. The
// first line, once the core is up, is {"ready":true,"version":"..."}. Logs go to stderr; stdout
// carries nothing but answers. README.md lists the commands.
//
// It speaks JSON-RPC 2.0 to the server itself (one JSON object per line on the server's
// stdin/stdout) and polls the core's events with get_next_event_batch, so that it needs no
// client library.

import { spawn } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import readline from "node:readline";

// Contact ids up to this one are special (self = 1, device = 2, ...).
const DC_CONTACT_ID_SELF = 1;
const DC_CONTACT_ID_LAST_SPECIAL = 9;

// Only answers go to stdout: anything that would print there goes to stderr instead.
console.log = console.info = console.debug = console.error;

function log(...args) {
  process.stderr.write(`dc_driver: ${args.join(" ")}\n`);
}

function answer(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

// The rpc server binary: DELTA_CHAT_RPC_SERVER if set (as Delta Chat's own npm wrapper reads
// it), else the prebuilt one that npm installed beside this file (package.json pins only the
// linux-x64 build, the platform of the project's machines).
function rpcServerPath() {
  if (process.env.DELTA_CHAT_RPC_SERVER) return process.env.DELTA_CHAT_RPC_SERVER;
  const pkg = `@deltachat/stdio-rpc-server-${process.platform}-${os.arch()}`;
  try {
    return createRequire(import.meta.url).resolve(pkg);
  } catch {
    throw new Error(
      `${pkg} is not installed: run npm ci in ${path.dirname(new URL(import.meta.url).pathname)}` +
        " or point DELTA_CHAT_RPC_SERVER at a deltachat-rpc-server binary",
    );
  }
}

// ---- JSON-RPC over the server's stdio ----

class Rpc {
  constructor(child) {
    this.child = child;
    this.nextId = 1;
    this.pending = new Map();
    this.closed = false;
    readline.createInterface({ input: child.stdout }).on("line", (line) => this.onLine(line));
  }

  onLine(line) {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      log("unparsable line from the rpc server:", line.slice(0, 200));
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error) {
      const err = new Error(msg.error.message ?? JSON.stringify(msg.error));
      err.method = p.method;
      p.reject(err);
    } else {
      p.resolve(msg.result);
    }
  }

  call(method, ...params) {
    if (this.closed) return Promise.reject(new Error("the rpc server has stopped"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
    });
  }

  close(reason) {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error(reason));
    this.pending.clear();
  }
}

// ---- events ----

// What the event loop has seen, for the commands to wait on.
const state = {
  incoming: [], // {chatId, msgId} of IncomingMsg, oldest first
  delivered: new Set(), // msg ids sent to the SMTP server (MsgDelivered)
  failed: new Set(), // msg ids that could not be sent (MsgFailed)
  joinerProgress: new Map(), // inviter contact id -> highest SecurejoinJoinerProgress
  joined: [], // {contactId, chatId} of SecurejoinInviterProgress 1000, oldest first
  inboxIdle: false, // the inbox loop has synced and waits in IDLE (ImapInboxIdle)
};
let waiters = [];
const answered = new Set(); // msg ids wait_message has answered with

function notify() {
  const current = waiters;
  waiters = [];
  for (const w of current) w();
}

// Resolves with check()'s first value other than undefined, rechecked after every event;
// rejects with "timeout" after timeoutMs.
function waitFor(check, timeoutMs) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    let timer = null;
    const attempt = () => {
      let value;
      try {
        value = check();
      } catch (e) {
        clearTimeout(timer);
        reject(e);
        return;
      }
      if (value !== undefined) {
        clearTimeout(timer);
        resolve(value);
      } else if (Date.now() >= deadline) {
        reject(new Error("timeout"));
      } else {
        waiters.push(attempt);
      }
    };
    timer = setTimeout(() => {
      waiters = waiters.filter((w) => w !== attempt);
      reject(new Error("timeout"));
    }, timeoutMs);
    attempt();
  });
}

const verbose = process.env.DC_DRIVER_VERBOSE === "1";

function onEvent(accountId, ev) {
  if (accountId !== account) return;
  switch (ev.kind) {
    case "IncomingMsg":
      state.incoming.push({ chatId: ev.chatId, msgId: ev.msgId });
      break;
    case "MsgDelivered":
      state.delivered.add(ev.msgId);
      break;
    case "MsgFailed":
      state.failed.add(ev.msgId);
      break;
    case "SecurejoinJoinerProgress":
      if ((state.joinerProgress.get(ev.contactId) ?? -1) < ev.progress || ev.progress === 0) {
        state.joinerProgress.set(ev.contactId, ev.progress);
      }
      break;
    case "SecurejoinInviterProgress":
      if (ev.progress === 1000) state.joined.push({ contactId: ev.contactId, chatId: ev.chatId });
      break;
    case "ImapInboxIdle":
      state.inboxIdle = true;
      break;
    case "ConfigureProgress":
      if (ev.comment) log(`configure ${ev.progress}: ${ev.comment}`);
      break;
    case "Warning":
    case "Error":
      log(`${ev.kind.toLowerCase()}: ${ev.msg}`);
      break;
    case "Info":
      if (verbose) log(`info: ${ev.msg}`);
      break;
    default:
      if (verbose) log(`event ${JSON.stringify(ev)}`);
  }
  notify();
}

async function eventLoop() {
  while (!rpc.closed) {
    let batch;
    try {
      batch = await rpc.call("get_next_event_batch");
    } catch (e) {
      if (!rpc.closed) log("get_next_event_batch:", e.message);
      return;
    }
    for (const { contextId, event } of batch) onEvent(contextId, event);
  }
}

// ---- commands ----

function need(cmd, field, type) {
  const v = cmd[field];
  if (typeof v !== type) throw new Error(`${field}: expected a ${type}`);
  return v;
}

function needIds(cmd) {
  const ids = cmd.msg_ids;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === "number")) {
    throw new Error("msg_ids: expected an array of numbers");
  }
  return ids;
}

function timeoutOf(cmd, fallback) {
  return typeof cmd.timeout_ms === "number" ? cmd.timeout_ms : fallback;
}

const SECURITY = { ssl: "ssl", starttls: "starttls", plain: "plain", automatic: "automatic" };

function security(cmd, field) {
  const v = need(cmd, field, "string");
  if (!SECURITY[v]) throw new Error(`${field}: expected ssl, starttls or plain`);
  return SECURITY[v];
}

// The own key's fingerprint, from the invite link (https://i.delta.chat/#FINGERPRINT&...).
async function ownFingerprint() {
  const qr = await rpc.call("get_chat_securejoin_qr_code", account, null);
  const m = /#([0-9A-Fa-f]{40})\b/.exec(qr);
  return m ? m[1].toUpperCase() : null;
}

// Messages with an attachment over 140 000 bytes come as a small pre-message (the text and
// "[name – size]") and then the full message with the file, which replaces the pre-message
// under the same id; the core fetches the full message by itself. Waits until the message is
// whole, and asks for the download if that has not happened after a few seconds.
async function fullMessage(msg, timeoutMs) {
  if (msg.downloadState === "Done") return msg;
  log(`message ${msg.id} is ${msg.downloadState}: waiting for the full message`);
  const deadline = Date.now() + timeoutMs;
  const askAt = Date.now() + 5000;
  let asked = false;
  for (;;) {
    msg = await rpc.call("get_message", account, msg.id);
    if (msg.downloadState === "Done" || msg.downloadState === "Undecipherable") return msg;
    if (!asked && Date.now() >= askAt && msg.downloadState !== "InProgress") {
      asked = true;
      // Fails harmlessly when the core has already queued the download.
      await rpc.call("download_full_message", account, msg.id).catch((e) => log(`download_full_message: ${e.message}`));
    }
    const wait = Math.min(500, deadline - Date.now());
    if (wait <= 0) throw new Error(`timeout: message ${msg.id} is still ${msg.downloadState}`);
    // Recheck after the next event or half a second, whichever comes first.
    await new Promise((resolve) => {
      const t = setTimeout(resolve, wait);
      waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

function messageAnswer(msg, chat) {
  return {
    ok: true,
    chat_id: msg.chatId,
    msg_id: msg.id,
    from: msg.sender?.address ?? null,
    text: msg.text,
    encrypted: msg.showPadlock,
    file: msg.file ?? null,
    file_name: msg.file ? (msg.fileName ?? null) : null,
    file_bytes: msg.file ? msg.fileBytes : null,
    edited: msg.isEdited ?? false,
    // The chat as it was when the message came: a contact request (now accepted), and
    // whether it is an encrypted chat (with a key contact) or one with a plain address.
    contact_request: chat ? chat.isContactRequest : null,
    chat_encrypted: chat ? chat.isEncrypted : null,
    // The core's message state: 28 (DC_STATE_OUT_MDN_RCVD) once a read receipt came back.
    state: msg.state,
  };
}

// Starts IO (again) and answers once the inbox loop has synced and waits in IDLE. The core
// takes what is in the inbox at its first sync of an account as old mail and does not show
// it, so a test must not send before then.
async function startIoAndSync() {
  state.inboxIdle = false;
  await rpc.call("start_io", account);
  await waitFor(() => (state.inboxIdle ? true : undefined), 30000);
}

const ops = {
  async configure(cmd) {
    const addr = need(cmd, "addr", "string");
    const param = {
      addr,
      password: need(cmd, "password", "string"),
      imapServer: need(cmd, "imap_host", "string"),
      imapPort: need(cmd, "imap_port", "number"),
      imapSecurity: security(cmd, "imap_security"),
      imapUser: null,
      imapFolder: null,
      smtpServer: need(cmd, "smtp_host", "string"),
      smtpPort: need(cmd, "smtp_port", "number"),
      smtpSecurity: security(cmd, "smtp_security"),
      smtpUser: null,
      smtpPassword: null,
      // The test server's certificate is self-signed. Core 2.x takes the certificate checks
      // per transport here; the config key imap_certificate_checks (which covered SMTP too)
      // only serves the deprecated configure() call.
      certificateChecks: "acceptInvalidCertificates",
    };
    if (typeof cmd.display_name === "string") {
      await rpc.call("set_config", account, "displayname", cmd.display_name);
    }
    const started = Date.now();
    // Returns once the core has logged in to IMAP and SMTP (or fails with the reason).
    await rpc.call("add_or_update_transport", account, param);
    await startIoAndSync();
    log(`configured ${addr} in ${Date.now() - started} ms`);
    return { ok: true, fingerprint: await ownFingerprint() };
  },

  async public_key() {
    // export_self_keys writes public-key-*.asc and private-key-*.asc into a directory; only
    // the public one is read, and the directory is removed again.
    const dir = fs.mkdtempSync(path.join(dataDir, "keys-"));
    try {
      // Exporting stops the core's IO and starts it again.
      await rpc.call("export_self_keys", account, dir, null);
      await startIoAndSync();
      const name = fs.readdirSync(dir).find((f) => f.startsWith("public-key") && f.endsWith(".asc"));
      if (!name) throw new Error(`no public key among ${fs.readdirSync(dir).join(", ")}`);
      return { ok: true, armored: fs.readFileSync(path.join(dir, name), "utf8") };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },

  async wait_message(cmd) {
    const deadline = Date.now() + timeoutOf(cmd, 30000);
    const left = () => Math.max(0, deadline - Date.now());
    for (;;) {
      const next = await waitFor(() => (state.incoming.length ? state.incoming.shift() : undefined), left());
      if (answered.has(next.msgId)) continue;
      let msg = await rpc.call("get_message", account, next.msgId);
      if (msg.fromId === DC_CONTACT_ID_SELF || msg.fromId <= DC_CONTACT_ID_LAST_SPECIAL) continue;
      if (msg.isInfo || msg.systemMessageType !== "Unknown") continue;
      const chat = await rpc.call("get_basic_chat_info", account, msg.chatId);
      if (chat.isContactRequest) {
        log(`accepting the contact request in chat ${msg.chatId}`);
        await rpc.call("accept_chat", account, msg.chatId);
      }
      try {
        msg = await fullMessage(msg, left());
      } catch (e) {
        state.incoming.unshift(next); // the next wait_message tries it again
        throw e;
      }
      answered.add(msg.id);
      return messageAnswer(msg, chat);
    }
  },

  async get_message(cmd) {
    const msg = await rpc.call("get_message", account, need(cmd, "msg_id", "number"));
    const chat = await rpc.call("get_basic_chat_info", account, msg.chatId);
    return { ...messageAnswer(msg, chat), download_state: msg.downloadState };
  },

  async send(cmd) {
    const chatId = need(cmd, "chat_id", "number");
    const text = typeof cmd.text === "string" ? cmd.text : null;
    const file = typeof cmd.file === "string" ? path.resolve(cmd.file) : null;
    if (text === null && file === null) throw new Error("send: needs text or file");
    const data = {
      text,
      html: null,
      viewtype: file ? "File" : "Text",
      file,
      filename: file ? (typeof cmd.file_name === "string" ? cmd.file_name : path.basename(file)) : null,
      location: null,
      overrideSenderName: null,
      quotedMessageId: null,
      quotedText: null,
    };
    const msgId = await rpc.call("send_msg", account, chatId, data);
    // Answers on MsgDelivered: the SMTP server has accepted the message (state OUT_DELIVERED).
    // (A message with an attachment over 140 000 bytes goes out as two e-mails, a pre-message
    // and then the full one.)
    const outcome = await waitFor(() => {
      if (state.delivered.has(msgId)) return "delivered";
      if (state.failed.has(msgId)) return "failed";
      return undefined;
    }, timeoutOf(cmd, 60000));
    if (outcome === "failed") {
      const msg = await rpc.call("get_message", account, msgId);
      throw new Error(`sending failed: ${msg.error ?? "no reason given"}`);
    }
    return { ok: true, msg_id: msgId };
  },

  async secure_join_qr(cmd) {
    const chatId = typeof cmd.chat_id === "number" ? cmd.chat_id : null;
    return { ok: true, qr: await rpc.call("get_chat_securejoin_qr_code", account, chatId) };
  },

  // A new group with only this account in it; others join through its invite link.
  async create_group(cmd) {
    return { ok: true, chat_id: await rpc.call("create_group_chat", account, need(cmd, "name", "string"), false) };
  },

  // Joiner side of SecureJoin (Setup-Contact): answers once the inviter confirmed the contact
  // (SecurejoinJoinerProgress 1000); the chat is then end-to-end encrypted and verified.
  async secure_join(cmd) {
    const qr = need(cmd, "qr", "string");
    const checked = await rpc.call("check_qr", account, qr);
    if (checked.kind !== "askVerifyContact" && checked.kind !== "askVerifyGroup") {
      throw new Error(`not a contact or group invite: ${checked.kind}`);
    }
    const contactId = checked.contact_id;
    state.joinerProgress.delete(contactId);
    const chatId = await rpc.call("secure_join", account, qr);
    await waitFor(() => {
      const p = state.joinerProgress.get(contactId);
      if (p === 1000) return true;
      if (p === 0) throw new Error("secure join failed");
      return undefined;
    }, timeoutOf(cmd, 60000));
    if (checked.kind === "askVerifyGroup") {
      // The core reports success on reading the inviter's vg-member-added and applies that
      // mail to the group after: the join is done when this account is in the group.
      const deadline = Date.now() + timeoutOf(cmd, 60000);
      while (!(await rpc.call("get_chat_contacts", account, chatId)).includes(DC_CONTACT_ID_SELF)) {
        if (Date.now() >= deadline) throw new Error("timeout: joined, but not added to the group");
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const contact = await rpc.call("get_contact", account, contactId);
    return { ok: true, chat_id: chatId, contact_id: contactId, addr: contact.address, verified: contact.isVerified };
  },

  // Inviter side: waits until someone joined through this account's invite link.
  async wait_secure_join(cmd) {
    const joined = await waitFor(
      () => (state.joined.length ? state.joined.shift() : undefined),
      timeoutOf(cmd, 60000),
    );
    const contact = await rpc.call("get_contact", account, joined.contactId);
    return { ok: true, chat_id: joined.chatId, contact_id: joined.contactId, addr: contact.address, verified: contact.isVerified };
  },

  // A chat with a plain e-mail address (in core 2.x an unencrypted "address contact").
  async create_chat(cmd) {
    const contactId = await rpc.call("create_contact", account, need(cmd, "addr", "string"), null);
    return { ok: true, chat_id: await rpc.call("create_chat_by_contact_id", account, contactId) };
  },

  // Any core config key (see sys.config_keys), e.g. force_encryption.
  // Marks messages as seen, as opening the chat would: the core sends read receipts for them
  // when their senders asked for one (Chat-Disposition-Notification-To).
  // A new text for a message this account sent (Delta Chat's edit request, Chat-Edit).
  async edit(cmd) {
    await rpc.call("send_edit_request", account, need(cmd, "msg_id", "number"), need(cmd, "text", "string"));
    return { ok: true };
  },

  // Deletes messages this account sent, for everyone (Chat-Delete).
  async delete_for_all(cmd) {
    const ids = needIds(cmd);
    await rpc.call("delete_messages_for_all", account, ids);
    return { ok: true };
  },

  // Whether a message is still there (a delete for everyone removes it).
  async chat_messages(cmd) {
    const ids = await rpc.call("get_message_ids", account, need(cmd, "chat_id", "number"), false, false);
    const out = [];
    for (const id of ids) {
      const msg = await rpc.call("get_message", account, id);
      if (!msg.isInfo) out.push(id);
    }
    return { ok: true, msg_ids: out };
  },

  async message_exists(cmd) {
    const ids = await rpc.call("get_existing_msg_ids", account, [need(cmd, "msg_id", "number")]);
    return { ok: true, exists: ids.length > 0 };
  },

  async mark_seen(cmd) {
    const ids = needIds(cmd);
    await rpc.call("markseen_msgs", account, ids);
    return { ok: true };
  },

  async get_config(cmd) {
    return { ok: true, value: await rpc.call("get_config", account, need(cmd, "key", "string")) };
  },

  async set_config(cmd) {
    const value = cmd.value === null ? null : String(need(cmd, "value", "string"));
    await rpc.call("set_config", account, need(cmd, "key", "string"), value);
    return { ok: true };
  },

  async chat_info(cmd) {
    const chatId = need(cmd, "chat_id", "number");
    const chat = await rpc.call("get_basic_chat_info", account, chatId);
    const ids = await rpc.call("get_chat_contacts", account, chatId);
    const contacts = Object.values(await rpc.call("get_contacts_by_ids", account, ids));
    return {
      ok: true,
      chat_id: chatId,
      name: chat.name,
      type: chat.chatType,
      encrypted: chat.isEncrypted,
      contact_request: chat.isContactRequest,
      contacts: contacts.map((c) => ({ addr: c.address, key_contact: c.isKeyContact, verified: c.isVerified })),
    };
  },

  // The account's own vCard (with its public key), as Delta Chat shares contacts.
  async vcard() {
    return { ok: true, vcard: await rpc.call("make_vcard", account, [DC_CONTACT_ID_SELF]) };
  },

  // Imports a vCard with a key: the chat with that key contact is encrypted from the start.
  async import_vcard(cmd) {
    const ids = await rpc.call("import_vcard_contents", account, need(cmd, "vcard", "string"));
    if (!ids.length) throw new Error("no contact in the vCard");
    const chatId = await rpc.call("create_chat_by_contact_id", account, ids[0]);
    return { ok: true, chat_id: chatId, contact_id: ids[0] };
  },
};

// ---- main ----

const dataDir = process.argv[2];
if (!dataDir) {
  log("usage: node dc_driver.mjs <data-dir>");
  process.exit(2);
}
fs.mkdirSync(dataDir, { recursive: true });

let rpc;
let account;
let quitting = false;

function startServer() {
  const bin = rpcServerPath();
  const child = spawn(bin, [], {
    env: { ...process.env, DC_ACCOUNTS_PATH: path.resolve(dataDir, "accounts") },
    stdio: ["pipe", "pipe", "inherit"],
  });
  child.on("error", (e) => {
    log(`cannot start ${bin}: ${e.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    rpc.close("the rpc server has stopped");
    if (!quitting) {
      log(`the rpc server stopped unexpectedly (${signal ?? code})`);
      process.exit(1);
    }
  });
  child.stdin.on("error", () => {});
  return child;
}

async function stopServer(child) {
  quitting = true;
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", resolve);
  });
  try {
    await Promise.race([rpc.call("stop_io_for_all_accounts"), new Promise((r) => setTimeout(r, 3000))]);
  } catch {
    // stopping anyway
  }
  child.stdin.end(); // the server exits at the end of its input
  const timer = setTimeout(() => child.kill("SIGTERM"), 5000);
  await exited;
  clearTimeout(timer);
}

function redact(cmd) {
  return JSON.stringify({ ...cmd, ...(cmd.password !== undefined ? { password: "***" } : {}) });
}

async function main() {
  const child = startServer();
  rpc = new Rpc(child);
  const info = await rpc.call("get_system_info");
  const version = (info.deltachat_core_version ?? "").replace(/^v/, "");
  const ids = await rpc.call("get_all_account_ids");
  account = ids.length ? ids[0] : await rpc.call("add_account");
  eventLoop();
  if (await rpc.call("is_configured", account)) await rpc.call("start_io", account);
  answer({ ready: true, version });

  const input = readline.createInterface({ input: process.stdin });
  // Commands run one after another, in the order they came.
  let chain = Promise.resolve();
  let done = false;
  const quit = () => {
    if (done) return chain;
    done = true;
    chain = chain.then(async () => {
      await stopServer(child);
      answer({ ok: true });
      process.exit(0);
    });
    return chain;
  };
  input.on("line", (line) => {
    if (done || !line.trim()) return;
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch (e) {
      chain = chain.then(() => answer({ ok: false, error: `not JSON: ${e.message}` }));
      return;
    }
    if (typeof cmd !== "object" || cmd === null || Array.isArray(cmd)) {
      chain = chain.then(() => answer({ ok: false, error: "not a JSON object" }));
      return;
    }
    if (cmd.op === "quit") {
      quit();
      return;
    }
    chain = chain.then(async () => {
      const op = Object.hasOwn(ops, cmd.op) ? ops[cmd.op] : null;
      if (!op) {
        answer({ ok: false, error: `unknown op: ${cmd.op}` });
        return;
      }
      log(`> ${redact(cmd)}`);
      const t0 = Date.now();
      try {
        const result = await op(cmd);
        answer(result);
        log(`< ${cmd.op} ok in ${Date.now() - t0} ms`);
      } catch (e) {
        answer({ ok: false, error: e.message });
        log(`< ${cmd.op} failed in ${Date.now() - t0} ms: ${e.message}`);
      }
    });
  });
  // End of input, SIGTERM and SIGINT quit as well.
  input.on("close", () => quit());
  process.on("SIGTERM", () => quit());
  process.on("SIGINT", () => quit());
}

main().catch((e) => {
  log(`startup failed: ${e.message}`);
  process.exit(1);
});
