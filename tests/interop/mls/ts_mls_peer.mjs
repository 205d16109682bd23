// ts_mls_peer.mjs: one MLS member in a directory, played by ts-mls, with the command line,
// the files and the output of mls-peer (cli/mls_peer.cpp), so that a driver can put either
// implementation on either side of a round.
//
//   node ts_mls_peer.mjs gen-kp DIR SUITE IDENTITY     DIR/key_package.mls, kp_private.json
//   node ts_mls_peer.mjs create-add DIR KEYPACKAGE SUITE TEXT
//                                   DIR/commit.mls, welcome.mls, app.mls, state.bin,
//                                   expected.json
//   node ts_mls_peer.mjs join DIR WELCOME [APP...]     joins with DIR's key package
//   node ts_mls_peer.mjs send DIR TEXT                 DIR/app-N.mls
//   node ts_mls_peer.mjs commit DIR                    DIR/commit-N.mls (empty commit, path)
//   node ts_mls_peer.mjs recv DIR MSG...               handshake and application messages
//
// Output, as mls-peer's: "message: TEXT" for each application message, "commit: epoch N" for
// each commit received, then "group_id:", "epoch:", "epoch_authenticator:" and "exporter:"
// (MLS-Exporter("interop", "", 32), RFC 9420 section 8.5). Exit 1 on any error, 2 on usage.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join as joinPath } from "node:path";
import { randomBytes } from "node:crypto";

import {
  acceptAll,
  ciphersuites,
  createApplicationMessage,
  createCommit,
  createGroup,
  decodeGroupState,
  decodeMlsMessage,
  defaultAuthenticationService,
  defaultKeyPackageEqualityConfig,
  defaultKeyRetentionConfig,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  emptyPskIndex,
  encodeGroupState,
  encodeMlsMessage,
  generateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  makePskIndex,
  mlsExporter,
  processMessage,
} from "ts-mls";
import { greaseCapabilities } from "ts-mls/grease.js";

const KEY_PACKAGE_FILE = "key_package.mls";
const PRIVATE_KEYS_FILE = "kp_private.json";
const STATE_FILE = "state.bin";
// The suite of a group, beside state.bin: ts-mls's encoded state does not say it.
const SUITE_FILE = "suite";
const SUITES = {
  1: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
  3: "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
};
// As mls-peer's key packages: valid from an hour ago for 90 days.
const LIFETIME_BEFORE = 3600n;
const LIFETIME_AFTER = 90n * 24n * 3600n;
// What expected.json and the output hold of MLS-Exporter: label, empty context, 32 bytes.
const EXPORTER_LABEL = "interop";
const EXPORTER_LENGTH = 32;

// ts-mls's default capabilities, with every GREASE value (RFC 9420 section 13.5) in each list
// rather than a random few, so that each run shows the other side ignores them.
function capabilities() {
  const base = {
    versions: ["mls10"],
    ciphersuites: Object.keys(ciphersuites),
    extensions: [],
    proposals: [],
    credentials: ["basic", "x509"],
  };
  return greaseCapabilities({ probabilityPerGreaseValue: 1 }, base);
}

function lifetime() {
  const now = BigInt(Math.floor(Date.now() / 1000));
  return { notBefore: now - LIFETIME_BEFORE, notAfter: now + LIFETIME_AFTER };
}

class Failure extends Error {}
class Usage extends Error {}

const hex = (bytes) => Buffer.from(bytes).toString("hex");
const fromHex = (text) => new Uint8Array(Buffer.from(text, "hex"));
const utf8 = (text) => new TextEncoder().encode(text);

// The client configuration is not part of the encoded state.
const clientConfig = {
  keyRetentionConfig: defaultKeyRetentionConfig,
  lifetimeConfig: defaultLifetimeConfig,
  keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
  paddingConfig: defaultPaddingConfig,
  authService: defaultAuthenticationService,
};

// ---- files ------------------------------------------------------------------------------

function readFile(path) {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new Failure(`${path}: cannot open: ${e.message}`);
  }
}

// Written beside `path` and renamed over it; `secret` files are 0600.
function writeFile(path, data, secret = false) {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data, { mode: secret ? 0o600 : 0o644 });
  if (secret) chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

function readMessage(path) {
  const wire = readFile(path);
  let decoded;
  try {
    decoded = decodeMlsMessage(wire, 0);
  } catch (e) {
    throw new Failure(`${path}: not a TLS-serialised MLSMessage: ${e.message}`);
  }
  if (decoded === undefined || decoded[1] !== wire.length) {
    throw new Failure(`${path}: not a TLS-serialised MLSMessage`);
  }
  return decoded[0];
}

function writeMessage(path, message) {
  writeFile(path, encodeMlsMessage({ version: "mls10", ...message }));
}

function nextFree(dir, prefix) {
  for (let n = 1; ; ++n) {
    const path = joinPath(dir, `${prefix}-${n}.mls`);
    if (!existsSync(path)) return path;
  }
}

// ---- suites and state -------------------------------------------------------------------

async function suiteImpl(text) {
  const name = SUITES[text];
  if (name === undefined) throw new Failure(`suite "${text}": this peer speaks suites 1 and 3`);
  return { id: Number(text), impl: await getCiphersuiteImpl(getCiphersuiteFromName(name)) };
}

async function loadState(dir) {
  const path = joinPath(dir, STATE_FILE);
  if (!existsSync(path)) {
    throw new Failure(`${path}: no group state here (run create-add or join first)`);
  }
  const data = readFile(path);
  const decoded = decodeGroupState(data, 0);
  if (decoded === undefined || decoded[1] !== data.length) {
    throw new Failure(`${path}: not a group state`);
  }
  const { impl } = await suiteImpl(readFileSync(joinPath(dir, SUITE_FILE), "utf8").trim());
  return { state: { ...decoded[0], clientConfig }, impl };
}

function saveState(dir, state, suite) {
  writeFile(joinPath(dir, SUITE_FILE), `${suite}\n`);
  writeFile(joinPath(dir, STATE_FILE), encodeGroupState(state), true);
}

function expectNoState(dir) {
  const path = joinPath(dir, STATE_FILE);
  if (existsSync(path)) throw new Failure(`${path} already holds a group; use another DIR`);
}

function suiteIdOf(impl) {
  for (const [id, name] of Object.entries(SUITES)) {
    if (name === impl.name) return Number(id);
  }
  throw new Failure(`suite ${impl.name} is not one of this peer's`);
}

// ---- output -----------------------------------------------------------------------------

// As mls-peer: printable ASCII as is, anything else (and the backslash) as \xNN.
function printable(bytes) {
  let out = "";
  for (const b of bytes) {
    const plain = b >= 0x20 && b < 0x7f && b !== 0x5c;
    out += plain ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return out;
}

async function epochLines(state, impl) {
  const exporter = await mlsExporter(
    state.keySchedule.exporterSecret, EXPORTER_LABEL, new Uint8Array(0), EXPORTER_LENGTH, impl);
  return {
    group_id: hex(state.groupContext.groupId),
    epoch: state.groupContext.epoch.toString(),
    epoch_authenticator: hex(state.keySchedule.epochAuthenticator),
    exporter: hex(exporter),
  };
}

async function printEpoch(state, impl, withGroupId = false) {
  const e = await epochLines(state, impl);
  if (withGroupId) console.log(`group_id: ${e.group_id}`);
  console.log(`epoch: ${e.epoch}`);
  console.log(`epoch_authenticator: ${e.epoch_authenticator}`);
  console.log(`exporter: ${e.exporter}`);
}

// ---- commands ---------------------------------------------------------------------------

async function genKp(dir, suiteText, identity) {
  const { impl } = await suiteImpl(suiteText);
  mkdirSync(dir, { recursive: true });
  const credential = { credentialType: "basic", identity: utf8(identity) };
  const kp = await generateKeyPackage(credential, capabilities(), lifetime(), [], impl);
  const keys = {
    initPrivateKey: hex(kp.privatePackage.initPrivateKey),
    hpkePrivateKey: hex(kp.privatePackage.hpkePrivateKey),
    signaturePrivateKey: hex(kp.privatePackage.signaturePrivateKey),
  };
  writeFile(joinPath(dir, PRIVATE_KEYS_FILE), JSON.stringify(keys), true);
  writeMessage(joinPath(dir, KEY_PACKAGE_FILE),
               { wireformat: "mls_key_package", keyPackage: kp.publicPackage });
  console.log(joinPath(dir, KEY_PACKAGE_FILE));
}

async function createAdd(dir, keyPackagePath, suiteText, text) {
  const { id: suite, impl } = await suiteImpl(suiteText);
  const kpMessage = readMessage(keyPackagePath);
  if (kpMessage.wireformat !== "mls_key_package") {
    throw new Failure(`${keyPackagePath}: not a KeyPackage message`);
  }
  if (kpMessage.keyPackage.cipherSuite !== impl.name) {
    throw new Failure(`${keyPackagePath}: the KeyPackage is for ` +
                      `${kpMessage.keyPackage.cipherSuite}, not suite ${suite}`);
  }
  mkdirSync(dir, { recursive: true });
  expectNoState(dir);

  const own = await generateKeyPackage(
    { credentialType: "basic", identity: utf8("ts-mls") },
    capabilities(),
    lifetime(),
    [],
    impl,
  );
  let state = await createGroup(new Uint8Array(randomBytes(16)), own.publicPackage,
                                own.privatePackage, [], impl);
  const committed = await createCommit(
    { state, cipherSuite: impl },
    {
      extraProposals: [{ proposalType: "add", add: { keyPackage: kpMessage.keyPackage } }],
      ratchetTreeExtension: true,
    },
  );
  if (committed.welcome === undefined) throw new Failure("the commit made no Welcome");
  state = committed.newState;
  const app = await createApplicationMessage(state, utf8(text), impl);
  state = app.newState;
  saveState(dir, state, suite);
  writeMessage(joinPath(dir, "commit.mls"), committed.commit);
  writeMessage(joinPath(dir, "welcome.mls"),
               { wireformat: "mls_welcome", welcome: committed.welcome });
  writeMessage(joinPath(dir, "app.mls"),
               { wireformat: "mls_private_message", privateMessage: app.privateMessage });
  const e = await epochLines(state, impl);
  const expected = { ...e, epoch: Number(e.epoch), text };
  writeFile(joinPath(dir, "expected.json"), `${JSON.stringify(expected, null, 2)}\n`);
  await printEpoch(state, impl, true);
}

// Processes one group message: prints an application message's text or the new epoch.
async function receive(state, impl, message, path) {
  if (message.wireformat !== "mls_private_message" && message.wireformat !== "mls_public_message") {
    throw new Failure(`${path}: not a group message (a Welcome, GroupInfo or KeyPackage)`);
  }
  let result;
  try {
    result = await processMessage(message, state, makePskIndex(state, {}), acceptAll, impl);
  } catch (e) {
    throw new Failure(`${path}: ${e.message}`);
  }
  if (result.kind === "applicationMessage") {
    console.log(`message: ${printable(result.message)}`);
  } else if (result.newState.groupContext.epoch !== state.groupContext.epoch) {
    console.log(`commit: epoch ${result.newState.groupContext.epoch}`);
  } else {
    console.log("proposal cached");
  }
  return result.newState;
}

async function join(dir, welcomePath, appPaths) {
  expectNoState(dir);
  const kpMessage = readMessage(joinPath(dir, KEY_PACKAGE_FILE));
  if (kpMessage.wireformat !== "mls_key_package") {
    throw new Failure(`${joinPath(dir, KEY_PACKAGE_FILE)}: not a KeyPackage message`);
  }
  const keys = JSON.parse(readFileSync(joinPath(dir, PRIVATE_KEYS_FILE), "utf8"));
  const privateKeys = {
    initPrivateKey: fromHex(keys.initPrivateKey),
    hpkePrivateKey: fromHex(keys.hpkePrivateKey),
    signaturePrivateKey: fromHex(keys.signaturePrivateKey),
  };
  const impl = await getCiphersuiteImpl(getCiphersuiteFromName(kpMessage.keyPackage.cipherSuite));
  const welcome = readMessage(welcomePath);
  if (welcome.wireformat !== "mls_welcome") {
    throw new Failure(`${welcomePath}: not a Welcome message`);
  }
  let state;
  try {
    // No tree passed: it must come from the GroupInfo's ratchet_tree extension.
    state = await joinGroup(welcome.welcome, kpMessage.keyPackage, privateKeys, emptyPskIndex,
                            impl, undefined, undefined, clientConfig);
  } catch (e) {
    throw new Failure(`${welcomePath}: ${e.message}`);
  }
  for (const path of appPaths) {
    const message = readMessage(path);
    const before = state.groupContext.epoch;
    state = await receive(state, impl, message, path);
    if (state.groupContext.epoch !== before) {
      throw new Failure(`${path}: not an application message`);
    }
  }
  saveState(dir, state, suiteIdOf(impl));
  await printEpoch(state, impl, true);
}

async function send(dir, text) {
  const { state, impl } = await loadState(dir);
  const path = nextFree(dir, "app");
  const app = await createApplicationMessage(state, utf8(text), impl);
  saveState(dir, app.newState, suiteIdOf(impl));
  writeMessage(path, { wireformat: "mls_private_message", privateMessage: app.privateMessage });
  console.log(path);
}

async function commit(dir) {
  const { state, impl } = await loadState(dir);
  const path = nextFree(dir, "commit");
  // No proposals: ts-mls sends an UpdatePath for an empty commit (RFC 9420 section 12.4).
  const committed = await createCommit({ state, cipherSuite: impl }, {});
  saveState(dir, committed.newState, suiteIdOf(impl));
  writeMessage(path, committed.commit);
  console.log(path);
  await printEpoch(committed.newState, impl);
}

// All or nothing, as mls-peer: the state is saved only when every message was processed.
async function recv(dir, paths) {
  let { state, impl } = await loadState(dir);
  for (const path of paths) state = await receive(state, impl, readMessage(path), path);
  saveState(dir, state, suiteIdOf(impl));
  await printEpoch(state, impl);
}

const USAGE = `usage: ts_mls_peer.mjs gen-kp DIR SUITE IDENTITY
       ts_mls_peer.mjs create-add DIR KEYPACKAGE SUITE TEXT
       ts_mls_peer.mjs join DIR WELCOME [APP...]
       ts_mls_peer.mjs send DIR TEXT
       ts_mls_peer.mjs commit DIR
       ts_mls_peer.mjs recv DIR MSG...
SUITE is 1 or 3.`;

async function main(args) {
  const [command, ...rest] = args;
  if (command === "gen-kp" && rest.length === 3) return genKp(...rest);
  if (command === "create-add" && rest.length === 4) return createAdd(...rest);
  if (command === "join" && rest.length >= 2) return join(rest[0], rest[1], rest.slice(2));
  if (command === "send" && rest.length === 2) return send(...rest);
  if (command === "commit" && rest.length === 1) return commit(...rest);
  if (command === "recv" && rest.length >= 2) return recv(rest[0], rest.slice(1));
  throw new Usage(USAGE);
}

try {
  await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof Usage) {
    console.error(e.message);
    process.exit(2);
  }
  console.error(`ts_mls_peer ${process.argv[2]}: ${e instanceof Failure ? e.message : e.stack}`);
  process.exit(1);
}
