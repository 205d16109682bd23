// What the browser keeps of a session: the store's batches (web_client.cpp's records), each
// encrypted with AES-GCM under a key WebCrypto made non-extractable, in IndexedDB. The key
// lives in the same database as a CryptoKey object: page scripts can use it but never read
// it. Logging out deletes the database.
const DB_NAME = 'sotto';
const KEYS = 'keys';
const LOG = 'log';

interface LogRecord {
  seq: number;
  iv: Uint8Array<ArrayBuffer>;
  data: ArrayBuffer;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('the write was aborted'));
  });
}

// A record's place is part of what its tag covers: records cannot be swapped or moved.
const aad = (seq: number) => new TextEncoder().encode(`sotto log record ${seq}`);

export class Storage {
  private constructor(
    private readonly db: IDBDatabase,
    private readonly key: CryptoKey,
    private nextSeq: number,
  ) {}

  static async open(): Promise<Storage> {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => {
      open.result.createObjectStore(KEYS);
      open.result.createObjectStore(LOG, { keyPath: 'seq' });
    };
    const db = await request(open);
    let key = (await request(db.transaction(KEYS).objectStore(KEYS).get('main'))) as
      | CryptoKey
      | undefined;
    if (!key) {
      key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
        'encrypt',
        'decrypt',
      ]);
      const tx = db.transaction([KEYS, LOG], 'readwrite');
      tx.objectStore(LOG).clear();  // records under a lost key cannot be read: start over
      tx.objectStore(KEYS).put(key, 'main');
      await done(tx);
    }
    const last = await request(db.transaction(LOG).objectStore(LOG).openCursor(null, 'prev'));
    const next = last ? (last.value as LogRecord).seq + 1 : 0;
    return new Storage(db, key, next);
  }

  // Every record, decrypted, oldest first. Throws when one does not open or one is missing.
  async records(): Promise<Uint8Array<ArrayBuffer>[]> {
    const all = (await request(this.db.transaction(LOG).objectStore(LOG).getAll())) as LogRecord[];
    const out: Uint8Array<ArrayBuffer>[] = [];
    for (let i = 0; i < all.length; i++) {
      if (i > 0 && all[i].seq !== all[i - 1].seq + 1) throw new Error('a stored record is missing');
      const plain = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: all[i].iv, additionalData: aad(all[i].seq) },
        this.key,
        all[i].data,
      );
      out.push(new Uint8Array(plain));
    }
    return out;
  }

  // Adds records in order, all in one transaction: a burst of batches costs one write.
  async append(list: Uint8Array<ArrayBuffer>[]): Promise<void> {
    const sealed = await Promise.all(list.map((bytes) => this.seal(this.nextSeq++, bytes)));
    const tx = this.db.transaction(LOG, 'readwrite');
    for (const record of sealed) tx.objectStore(LOG).add(record);
    await done(tx);
  }

  // One record (a snapshot of everything) in place of all the others, in one transaction.
  async replaceAll(bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    const seq = this.nextSeq++;
    const record = await this.seal(seq, bytes);
    const tx = this.db.transaction(LOG, 'readwrite');
    tx.objectStore(LOG).delete(IDBKeyRange.upperBound(seq, true));
    tx.objectStore(LOG).add(record);
    await done(tx);
  }

  // Deletes everything this origin keeps of Sotto, the key included.
  static async wipe(storage?: Storage): Promise<void> {
    storage?.db.close();
    await request(indexedDB.deleteDatabase(DB_NAME));
  }

  private async seal(seq: number, bytes: Uint8Array<ArrayBuffer>): Promise<LogRecord> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: aad(seq) },
      this.key,
      bytes,
    );
    bytes.fill(0);  // the plaintext copy the core handed over
    return { seq, iv, data };
  }
}
