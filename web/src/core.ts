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
  markRead(conversation: string, done: Done): void;
  fetch(done: Done): void;
  exportAccount(done: Done): void;
  deleteAccount(password: string, done: Done): void;
  listDevices(done: Done): void;
  safetyNumber(username: string, done: Done): void;
  conversations(): Conversation[];
  history(conversation: string): Message[];
}

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
  // Writes to IndexedDB and frames to the server, in the order the core asked for them: a
  // frame leaves only once every write asked for before it is done.
  private queue: Promise<void> = Promise.resolve();
  isConnected = false;

  private client!: WebClient;
  private readonly host: Host = {
    send: (bytes) => this.enqueue(() => this.sendNow(bytes)),
    persist: (bytes) => this.enqueue(() => this.storage.append(bytes)),
    event: (e) => this.emit(e),
  };

  private constructor(private storage: Storage) {}

  // Loads the core, the server's directory keys and what this browser kept, and connects.
  static async open(): Promise<Session> {
    // The configuration and the core load side by side: the .wasm is the long wait.
    const [config, core] = await Promise.all([loadConfig(), loadCore()]);
    if (!(await holdTheTab())) {
      throw new Error('Sotto is open in another tab of this browser: use that one');
    }
    const session = new Session(await Storage.open());
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
      const snapshot = session.client.snapshot();
      session.enqueue(() => session.storage.replaceAll(snapshot));
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
      await this.queue;
      await Storage.wipe(this.storage);
    }
  }

  private call<T>(start: (done: Done) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      start((error, value) => (error ? reject(new CoreFailure(error)) : resolve(value as T)));
    });
  }

  private emit(e: CoreEvent): void {
    for (const listener of [...this.listeners]) listener(e);
  }

  private enqueue(task: () => void | Promise<void>): void {
    this.queue = this.queue.then(task).catch((err: unknown) =>
      this.emit({
        type: 'error',
        error: { code: 'storage', message: `could not keep this browser's data: ${String(err)}` },
      }),
    );
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
