// openpgpjs_peer.mjs: OpenPGP.js with the command line, files and output of openpgp-peer
// (cli/openpgp_peer.cpp), so that a driver can put either implementation on either side.
//
//   node openpgpjs_peer.mjs gen DIR USER_ID [--v1]
//   node openpgpjs_peer.mjs encrypt DIR OUT TEXT [--compress] [--anonymous] [--unsigned] PUBLIC...
//   node openpgpjs_peer.mjs decrypt DIR MESSAGE [PUBLIC...]
//   node openpgpjs_peer.mjs encrypt-password DIR OUT TEXT PASSWORD [--unsigned]
//   node openpgpjs_peer.mjs decrypt-password MESSAGE PASSWORD [PUBLIC...]
//
// Keys are v4: an Ed25519Legacy primary key and a Curve25519Legacy ECDH subkey, as Delta Chat
// makes them. Without --v1 the key advertises SEIPD v2 (aeadProtect), and encryption uses
// SEIPD v2 when every recipient key does. Exit 1 on any error, 2 on usage.
import { readFileSync, writeFileSync } from "node:fs";
import { join as joinPath } from "node:path";
import * as openpgp from "openpgp";

function usage() {
  process.stderr.write("usage: see the header of openpgpjs_peer.mjs\n");
  process.exit(2);
}

const [command, ...args] = process.argv.slice(2);

async function readPublic(path) {
  return openpgp.readKey({ armoredKey: readFileSync(path, "utf8") });
}

async function readSecret(dir) {
  return openpgp.readPrivateKey({ armoredKey: readFileSync(joinPath(dir, "secret.asc"), "utf8") });
}

async function gen(dir, userId, flags) {
  const v2 = !flags.includes("--v1");
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ email: userId }],
    format: "armored",
    config: { aeadProtect: v2, v6Keys: false },
  });
  writeFileSync(joinPath(dir, "secret.asc"), privateKey);
  writeFileSync(joinPath(dir, "public.asc"), publicKey);
  const key = await openpgp.readKey({ armoredKey: publicKey });
  console.log(`fingerprint: ${key.getFingerprint()}`);
}

async function encrypt(dir, out, text, rest) {
  const flags = rest.filter((a) => a.startsWith("--"));
  const files = rest.filter((a) => !a.startsWith("--"));
  const encryptionKeys = await Promise.all(files.map(readPublic));
  const signingKeys = flags.includes("--unsigned") ? undefined : await readSecret(dir);
  const config = { aeadProtect: true };
  if (flags.includes("--compress")) config.preferredCompressionAlgorithm = openpgp.enums.compression.zlib;
  const message = await openpgp.encrypt({
    message: await openpgp.createMessage({ text }),
    encryptionKeys,
    signingKeys,
    wildcard: flags.includes("--anonymous"),
    config,
  });
  writeFileSync(out, message);
}

async function encryptPassword(dir, out, text, password, flags) {
  const signingKeys = flags.includes("--unsigned") ? undefined : await readSecret(dir);
  const message = await openpgp.encrypt({
    message: await openpgp.createMessage({ text }),
    passwords: [password],
    signingKeys,
    // As Delta Chat encrypts under a password: AES-128 and OCB (OpenPGP.js would take
    // AES-256 and GCM).
    config: {
      aeadProtect: true,
      preferredSymmetricAlgorithm: openpgp.enums.symmetric.aes128,
      preferredAEADAlgorithm: openpgp.enums.aead.ocb,
    },
  });
  writeFileSync(out, message);
}

async function decrypt(dir, path, files, password) {
  const decryptionKeys = password === undefined ? await readSecret(dir) : undefined;
  const passwords = password === undefined ? undefined : [password];
  const verificationKeys = await Promise.all(files.map(readPublic));
  const message = await openpgp.readMessage({ armoredMessage: readFileSync(path, "utf8") });
  const seipd = message.packets.filterByTag(openpgp.enums.packet.symEncryptedIntegrityProtectedData);
  const { data, signatures } = await openpgp.decrypt({
    message,
    decryptionKeys,
    passwords,
    verificationKeys,
    config: { allowUnauthenticatedMessages: false },
  });
  let status = "unsigned";
  if (signatures.length > 0) {
    try {
      await signatures[0].verified;
      status = "valid";
    } catch (e) {
      status = verificationKeys.length === 0 || /Could not find signing key/.test(String(e))
        ? "unknown_signer" : "invalid";
    }
  }
  console.log(`seipd: ${seipd.length === 1 ? seipd[0].version : "?"}`);
  console.log(`signature: ${status}`);
  console.log(`text: ${data}`);
}

try {
  if (command === "gen" && args.length >= 2) await gen(args[0], args[1], args.slice(2));
  else if (command === "encrypt" && args.length >= 4) await encrypt(args[0], args[1], args[2], args.slice(3));
  else if (command === "decrypt" && args.length >= 2) await decrypt(args[0], args[1], args.slice(2));
  else if (command === "encrypt-password" && args.length >= 4)
    await encryptPassword(args[0], args[1], args[2], args[3], args.slice(4));
  else if (command === "decrypt-password" && args.length >= 2)
    await decrypt(undefined, args[0], args.slice(2), args[1]);
  else usage();
} catch (e) {
  process.stderr.write(`${command}: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
}
