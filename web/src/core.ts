// The session with the server: the C++ engine (compiled to WebAssembly) and the page's
// WebSocket to sottod. The page speaks no protocol of its own: frames go between the socket
// and the engine untouched, and the UI calls the engine's operations.
import createSottoCore from '@core/sotto_web.mjs';
import wasmUrl from '@core/sotto_web.wasm?url';
import { Storage } from './storage';

export interface CoreError {
  code: string;
  message: string;
}

export interface FileInfo {
  name: string;
  type: string;
  size: number;
}

export interface Message {
  conversation: string;
  id: string;
  sender: string;
  outgoing: boolean;
  sentAt: number;
  acceptedAt: number;
  state: 'pending' | 'sent' | 'received' | 'failed';
  body: string;
  deleted: boolean;
  edited: boolean;
  read: boolean;
  deliveredTo: string[];
  readBy: string[];
  replyTo?: string;
  timerSet?: number;
  file?: FileInfo;
}

export interface Conversation {
  id: string;
  name: string;
  kind: 'direct' | 'group';
  members: string[];
  verified: boolean;
  member: boolean;
  timer: number;  // seconds after which new messages disappear; 0: off
}

export interface Contact {
  username: string;
  devices: number;  // verified devices
  epoch: number;  // the key directory's epoch the proof was checked at
}

export interface Device {
  id: string;
  name: string;
}

export type CoreEvent =
  | { type: 'message' | 'message_changed' | 'message_expired'; message: Message }
  | { type: 'delivery'; conversation: string; id: string; state: Message['state'] }
  | { type: 'conversation'; conversation: Conversation }
  | { type: 'keys_changed'; username: string; before: string; after: string }
  | { type: 'unknown_own_device'; device: string }
  | { type: 'split_view'; reportedBy: string }
  | { type: 'authenticated' }
  | { type: 'session_ended'; reason: string }
  | { type: 'error'; error: CoreError }
  | { type: 'connection'; connected: boolean };

type Done = (error: CoreError | null, value: unknown) => void;

// What web_client.cpp binds (see there for each operation's meaning).
interface WebClient {
  keysOk(): boolean;
  restoreError(): string;
  snapshot(): Uint8Array<ArrayBuffer>;
  delete(): void;
  hasIdentity(): boolean;
  ready(): boolean;
  username(): string;
  connected(): void;
  disconnected(): void;
  frame(bytes: Uint8Array): void;
  register(username: string, email: string, password: string, invite: string, done: Done): void;
  login(username: string, password: string, done: Done): void;
  startConversation(username: string, done: Done): void;
  createGroup(name: string, usernames: string[], done: Done): void;
  sendText(conversation: string, text: string, done: Done): void;
  sendFile(
    conversation: string,
    sealer: FileSealer,
    fileId: string,
    name: string,
    type: string,
    caption: string,
    done: Done,
  ): void;
  openFile(conversation: string, message: string): FileOpener;
  sendReply(conversation: string, replyTo: string, text: string, done: Done): void;
  editMessage(conversation: string, message: string, text: string, done: Done): void;
  deleteMessage(conversation: string, message: string, done: Done): void;
  setTimer(conversation: string, seconds: number, done: Done): void;
  sessionAuthorization(): string;
  linkOffer(done: Done): void;
  linkPoll(done: Done): void;
  linkAccept(code: string, done: Done): void;
  linkWait(done: Done): void;
  markRead(conversation: string, done: Done): void;
  fetch(done: Done): void;
  exportAccount(done: Done): void;
  deleteAccount(password: string, done: Done): void;
  listDevices(done: Done): void;
  safetyNumber(username: string, done: Done): void;
  addContact(username: string, done: Done): void;
  contacts(): Contact[];
  conversations(): Conversation[];
  history(conversation: string): Message[];
}

// web_files.h: the file's key stays in the core; the page moves the bytes.
interface FileSealer {
  error(): string;
  ciphertextSize(): number;
  update(plaintext: Uint8Array): Uint8Array<ArrayBuffer>;
  finish(): Uint8Array<ArrayBuffer>;
  delete(): void;
}

interface FileOpener {
  error(): string;
  url(): string;
  ciphertextSize(): number;
  hash(ciphertext: Uint8Array): void;
  verify(): boolean;
  decrypt(ciphertext: Uint8Array): Uint8Array<ArrayBuffer>;
  finish(): Uint8Array<ArrayBuffer>;
  delete(): void;
}

export interface LinkSlot {
  code: string;
  expiresAt: number;
}

// Bytes done of bytes in all, for a progress bar.
export type Progress = (done: number, total: number) => void;

interface Host {
  send(bytes: Uint8Array<ArrayBuffer>): void;
  persist(bytes: Uint8Array<ArrayBuffer>): void;
  event(e: CoreEvent): void;
}

export interface CoreModule {
  WebClient: new (
    host: Host,
    directoryKey: string,
    vrfKey: string,
    records: Uint8Array<ArrayBuffer>[],
  ) => WebClient;
  FileSealer: new (size: number) => FileSealer;
}

// The core's .wasm, fetched with the Subresource Integrity hash the bundle was built with
// (vite.config.ts), as index.html does for the scripts and the stylesheet.
declare const __SOTTO_WASM_INTEGRITY__: string;

function loadCore(): Promise<CoreModule> {
  return new Promise((resolve, reject) => {
    createSottoCore({
      locateFile: () => wasmUrl,
      instantiateWasm(
        imports: WebAssembly.Imports,
        receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
      ) {
        const wasm = fetch(wasmUrl, { integrity: __SOTTO_WASM_INTEGRITY__, credentials: 'omit' });
        WebAssembly.instantiateStreaming(wasm, imports)
          .then((r) => receive(r.instance, r.module))
          .catch(reject);
        return {};
      },
    } as Parameters<typeof createSottoCore>[0]).then((m) => resolve(m as CoreModule), reject);
  });
}

async function loadConfig(): Promise<{ directory_key: string; vrf_key: string }> {
  const response = await fetch('/api/web-config', { cache: 'no-store', credentials: 'omit' });
  if (!response.ok) throw new Error(`the server's configuration: HTTP ${response.status}`);
  return response.json();
}

// One tab at a time: two engines on one device's store would write over each other's
// records and take turns at the server. The lock is held until the page goes.
function holdTheTab(): Promise<boolean> {
  return new Promise((resolve) => {
    void navigator.locks.request('sotto-session', { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock ? new Promise<void>(() => {}) : undefined;
    });
  });
}

export class CoreFailure extends Error {
  constructor(readonly error: CoreError) {
    super(error.message || error.code);
  }
}

const MAX_RETRY_MS = 30_000;
// Kept records beyond this many are folded into one snapshot when the page starts.
const COMPACT_AFTER = 64;

export class Session {
  private socket: WebSocket | null = null;
  private retryMs = 500;
  private listeners = new Set<(e: CoreEvent) => void>();
  private closed = false;
  // Writes to IndexedDB and frames to the server: a frame leaves only once every write asked
  // for before it is done. What piles up while a write is under way goes together: the
  // records in one transaction, then the frames that waited for them.
  private writes: Uint8Array<ArrayBuffer>[] = [];
  private waiting: Uint8Array<ArrayBuffer>[] = [];
  private flushing: Promise<void> | null = null;
  isConnected = false;

  private client!: WebClient;
  private readonly host: Host = {
    send: (bytes) => {
      if (this.flushing) this.waiting.push(bytes);
      else this.sendNow(bytes);
    },
    persist: (bytes) => {
      this.writes.push(bytes);
      // Started once the core returns, so that the batches of one frame share a write.
      this.flushing ??= Promise.resolve().then(() => this.flush());
    },
    event: (e) => {
      // Each authentication may bring a new session token: the next file request asks for
      // a cookie of it (none is asked for at start, when no file may ever be moved).
      if (e.type === 'authenticated') this.cookie = null;
      this.emit(e);
    },
  };
  // The file API's session cookie (HttpOnly: the page cannot read it, only ask for it).
  private cookie: Promise<void> | null = null;

  private constructor(
    private storage: Storage,
    private readonly core: CoreModule,
  ) {}

  // Loads the core, the server's directory keys and what this browser kept, and connects.
  static async open(): Promise<Session> {
    // The configuration and the core load side by side: the .wasm is the long wait.
    const [config, core] = await Promise.all([loadConfig(), loadCore()]);
    if (!(await holdTheTab())) {
      throw new Error('Sotto is open in another tab of this browser: use that one');
    }
    const session = new Session(await Storage.open(), core);
    let records: Uint8Array<ArrayBuffer>[] = [];
    try {
      records = await session.storage.records();
    } catch (err) {
      // Damaged, or kept under a lost key: what cannot be read is dropped; the user signs in.
      console.warn(`Sotto: what this browser kept could not be decrypted (${String(err)}); starting over`);
      await session.forget();
    }
    session.client = new core.WebClient(session.host, config.directory_key, config.vrf_key, records);
    const unreadable = session.client.restoreError();
    if (unreadable) {
      console.warn(`Sotto: what this browser kept could not be read back (${unreadable}); starting over`);
      session.client.delete();
      await session.forget();
      session.client = new core.WebClient(session.host, config.directory_key, config.vrf_key, []);
    }
    for (const r of records) r.fill(0);
    if (!session.client.keysOk()) throw new Error("the server's key-directory keys are malformed");
    if (!unreadable && records.length > COMPACT_AFTER) {
      await session.storage.replaceAll(session.client.snapshot());
    }
    session.connect();
    return session;
  }

  private async forget(): Promise<void> {
    await Storage.wipe(this.storage);
    this.storage = await Storage.open();
  }

  on(listener: (e: CoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get username(): string {
    return this.client.username();
  }

  get hasAccount(): boolean {
    return this.client.hasIdentity();
  }

  // Resolves once the socket is open (at once when it is).
  whenConnected(): Promise<void> {
    if (this.isConnected) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.on((e) => {
        if (e.type === 'connection' && e.connected) {
          off();
          resolve();
        }
      });
    });
  }

  register(username: string, email: string, password: string, invite: string): Promise<void> {
    return this.call((done) => this.client.register(username, email, password, invite, done));
  }
  login(username: string, password: string): Promise<void> {
    return this.call((done) => this.client.login(username, password, done));
  }
  startConversation(username: string): Promise<string> {
    return this.call((done) => this.client.startConversation(username, done));
  }
  createGroup(name: string, usernames: string[]): Promise<string> {
    return this.call((done) => this.client.createGroup(name, usernames, done));
  }
  sendText(conversation: string, text: string): Promise<string> {
    return this.call((done) => this.client.sendText(conversation, text, done));
  }
  sendReply(conversation: string, replyTo: string, text: string): Promise<string> {
    return this.call((done) => this.client.sendReply(conversation, replyTo, text, done));
  }
  // For everyone: a message of this account changed or deleted, the conversation's timer set.
  editMessage(conversation: string, message: string, text: string): Promise<void> {
    return this.call((done) => this.client.editMessage(conversation, message, text, done));
  }
  deleteMessage(conversation: string, message: string): Promise<void> {
    return this.call((done) => this.client.deleteMessage(conversation, message, done));
  }
  setTimer(conversation: string, seconds: number): Promise<void> {
    return this.call((done) => this.client.setTimer(conversation, seconds, done));
  }
  // Encrypts `file` in the core as it is read, uploads the ciphertext (with progress), then
  // sends the file message. Gives the message's id.
  async sendFile(conversation: string, file: File, caption: string, progress: Progress): Promise<string> {
    const sealer = new this.core.FileSealer(file.size);
    try {
      const parts: Uint8Array<ArrayBuffer>[] = [];
      const reader = file.stream().getReader();
      for (let r = await reader.read(); !r.done && !sealer.error(); r = await reader.read()) {
        parts.push(sealer.update(r.value));
        r.value.fill(0);
      }
      parts.push(sealer.finish());
      if (sealer.error()) throw new Error(sealer.error());
      const id = await this.upload(new Blob(parts), progress);
      return await this.call((done) =>
        this.client.sendFile(conversation, sealer, id, file.name, file.type, caption, done),
      );
    } finally {
      sealer.delete();
    }
  }

  // Downloads the file of a stored message, checks its length and hash, and only then
  // decrypts it. Gives the plaintext in pieces (for a Blob).
  async openFile(conversation: string, message: string, progress: Progress): Promise<Uint8Array<ArrayBuffer>[]> {
    const opener = this.client.openFile(conversation, message);
    try {
      if (opener.error()) throw new Error(opener.error());
      const response = await this.withCookie(() =>
        fetch(opener.url(), { credentials: 'same-origin', cache: 'no-store' }),
      );
      if (!response.ok || !response.body) throw new Error(await httpError(response));
      const total = opener.ciphertextSize();
      const blob: Uint8Array[] = [];
      let received = 0;
      const reader = response.body.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        opener.hash(r.value);
        blob.push(r.value);
        received += r.value.length;
        progress(Math.min(received, total), total);
        if (opener.error()) break;
      }
      if (!opener.verify()) throw new Error(opener.error());
      const plain = blob.map((piece) => opener.decrypt(piece));
      plain.push(opener.finish());
      if (opener.error()) throw new Error(opener.error());
      return plain;
    } finally {
      opener.delete();
    }
  }

  markRead(conversation: string): Promise<void> {
    return this.call((done) => this.client.markRead(conversation, done));
  }
  exportAccount(): Promise<string> {
    return this.call((done) => this.client.exportAccount(done));
  }
  deleteAccount(password: string): Promise<void> {
    return this.call((done) => this.client.deleteAccount(password, done));
  }
  listDevices(): Promise<Device[]> {
    return this.call((done) => this.client.listDevices(done));
  }
  safetyNumber(username: string): Promise<string> {
    return this.call((done) => this.client.safetyNumber(username, done));
  }
  // Linking, on the device with the account: the code to show, then poll until a device
  // used it (null while none has).
  linkOffer(): Promise<LinkSlot> {
    return this.call((done) => this.client.linkOffer(done));
  }
  linkPoll(): Promise<Device | null> {
    return this.call((done) => this.client.linkPoll(done));
  }
  // Linking, on this browser: posts its key under the code, then wait until the other device
  // has added it (false until then).
  linkAccept(code: string): Promise<void> {
    return this.call((done) => this.client.linkAccept(code, done));
  }
  linkWait(): Promise<boolean> {
    return this.call((done) => this.client.linkWait(done));
  }
  // Looks a user up in the key directory and keeps their verified devices.
  addContact(username: string): Promise<Contact> {
    return this.call((done) => this.client.addContact(username, done));
  }
  contacts(): Contact[] {
    return this.client.contacts();
  }
  conversations(): Conversation[] {
    return this.client.conversations();
  }
  history(conversation: string): Message[] {
    return this.client.history(conversation);
  }

  // Ends the session in this tab: the socket closes. With `forget`, everything this browser
  // kept of the account is deleted (logging out, an erased or revoked account).
  async close(forget: boolean): Promise<void> {
    this.closed = true;
    this.socket?.close();
    if (forget) {
      await fetch('/v1/web-session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => undefined);
      await this.flushing;
      await Storage.wipe(this.storage);
    }
  }

  // Asks the server to turn this device's session into the cookie the file API takes: at
  // the first file request after each authentication (again after a failure).
  private fileSession(): Promise<void> {
    if (!this.cookie) {
      const authorization = this.client.sessionAuthorization();
      this.cookie = (async () => {
        if (!authorization) throw new Error('not signed in');
        const response = await fetch('/v1/web-session', {
          method: 'POST',
          headers: { Authorization: authorization },
          credentials: 'same-origin',
          cache: 'no-store',
        });
        if (!response.ok) throw new Error(await httpError(response));
      })();
      this.cookie.catch(() => (this.cookie = null));
    }
    return this.cookie;
  }

  // A file request with the cookie; once more with a fresh one when the server no longer
  // takes it (the session was renewed).
  private async withCookie<T extends { status: number }>(request: () => Promise<T>): Promise<T> {
    await this.fileSession();
    const first = await request();
    if (first.status !== 401) return first;
    this.cookie = null;
    await this.fileSession();
    return request();
  }

  private async upload(body: Blob, progress: Progress): Promise<string> {
    const response = await this.withCookie(() => post('/v1/files', body, progress));
    if (response.status !== 201) throw new Error(await httpError(response));
    const id = (JSON.parse(response.responseText) as { id?: unknown }).id;
    if (typeof id !== 'string') throw new Error('the server did not name the uploaded file');
    return id;
  }

  private call<T>(start: (done: Done) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      start((error, value) => (error ? reject(new CoreFailure(error)) : resolve(value as T)));
    });
  }

  private emit(e: CoreEvent): void {
    for (const listener of [...this.listeners]) listener(e);
  }

  private async flush(): Promise<void> {
    while (this.writes.length > 0) {
      const writes = this.writes.splice(0);
      const frames = this.waiting.splice(0);
      try {
        await this.storage.append(writes);
      } catch (err) {
        this.emit({
          type: 'error',
          error: { code: 'storage', message: `could not keep this browser's data: ${String(err)}` },
        });
      }
      for (const frame of frames) this.sendNow(frame);
    }
    const frames = this.waiting.splice(0);
    this.flushing = null;
    for (const frame of frames) this.sendNow(frame);
  }

  private sendNow(bytes: Uint8Array<ArrayBuffer>): void {
    // A frame given while disconnected is dropped; the engine retries what must be retried.
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(bytes);
  }

  private connect(): void {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`;
    const socket = new WebSocket(url, 'sotto.v1');
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      this.retryMs = 500;
      this.isConnected = true;
      this.emit({ type: 'connection', connected: true });
      this.client.connected();
    };
    socket.onmessage = (event) => {
      if (event.data instanceof ArrayBuffer) this.client.frame(new Uint8Array(event.data));
    };
    socket.onclose = () => {
      const was = this.isConnected;
      this.isConnected = false;
      this.socket = null;
      if (was) {
        this.client.disconnected();
        this.emit({ type: 'connection', connected: false });
      }
      if (this.closed) return;
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    };
  }
}

// An upload with progress (fetch reports none for what it sends).
function post(url: string, body: Blob, progress: Progress): Promise<XMLHttpRequest> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => progress(e.loaded, e.total || body.size);
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () => reject(new Error('the upload was cut off'));
    xhr.send(body);
  });
}

// What a refused file request says: the server's {"error", "message"} or the status.
async function httpError(response: Response | XMLHttpRequest): Promise<string> {
  const text = response instanceof XMLHttpRequest ? response.responseText : await response.text().catch(() => '');
  try {
    const e = JSON.parse(text) as { error?: string; message?: string };
    if (e.message || e.error) return `${e.message || e.error} (HTTP ${response.status})`;
  } catch {
    // not JSON
  }
  return `HTTP ${response.status}`;
}
