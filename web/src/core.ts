// The session with the server: the C++ engine (compiled to WebAssembly) and the page's
// WebSocket to sottod. The page speaks no protocol of its own: frames go between the socket
// and the engine untouched, and the UI calls the engine's operations.
import createSottoCore from '@core/sotto_web.mjs';
import wasmUrl from '@core/sotto_web.wasm?url';

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

export interface CoreModule {
  WebClient: new (
    host: { send(bytes: Uint8Array<ArrayBuffer>): void; event(e: CoreEvent): void },
    directoryKey: string,
    vrfKey: string,
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

export class CoreFailure extends Error {
  constructor(readonly error: CoreError) {
    super(error.message || error.code);
  }
}

const MAX_RETRY_MS = 30_000;

export class Session {
  private socket: WebSocket | null = null;
  private retryMs = 500;
  private listeners = new Set<(e: CoreEvent) => void>();
  private closed = false;
  isConnected = false;

  private constructor(private readonly client: WebClient) {}

  // Loads the core and the server's directory keys, and connects.
  static async open(): Promise<Session> {
    const response = await fetch('/api/web-config', { cache: 'no-store', credentials: 'omit' });
    if (!response.ok) throw new Error(`the server's configuration: HTTP ${response.status}`);
    const config = (await response.json()) as { directory_key: string; vrf_key: string };
    const core = await loadCore();
    let session: Session | null = null;
    const client = new core.WebClient(
      {
        send: (bytes) => session?.send(bytes),
        event: (e) => session?.emit(e),
      },
      config.directory_key,
      config.vrf_key,
    );
    if (!client.keysOk()) throw new Error("the server's key-directory keys are malformed");
    session = new Session(client);
    session.connect();
    return session;
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

  // Ends the session in this tab: the socket closes and nothing of the account stays in the
  // page (the core keeps its state in memory only).
  close(): void {
    this.closed = true;
    this.socket?.close();
  }

  private call<T>(start: (done: Done) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      start((error, value) => (error ? reject(new CoreFailure(error)) : resolve(value as T)));
    });
  }

  private emit(e: CoreEvent): void {
    for (const listener of [...this.listeners]) listener(e);
  }

  private send(bytes: Uint8Array<ArrayBuffer>): void {
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
