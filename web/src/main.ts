// The web client's screens: sign in (create an account or add this browser to one), the chat
// list, a conversation, and the account page. Everything shown is set as text, never parsed
// as HTML.
import './style.css';
import { CoreFailure, Session, type Conversation, type CoreEvent, type Message } from './core';
import { qrCanvas } from './qr';

type Attrs = Record<string, string | boolean | ((e: Event) => void)>;
type Child = Node | string | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(key, '');
    else if (value !== false) el.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) el.append(child);
  }
  return el;
}

function field(label: string, name: string, type = 'text', extra: Attrs = {}): HTMLLabelElement {
  return h('label', {}, label, h('input', { name, type, autocomplete: 'off', ...extra }));
}

function describe(error: unknown): string {
  if (error instanceof CoreFailure) return `${error.error.message || error.error.code}`;
  return error instanceof Error ? error.message : String(error);
}

function time(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

// What the composer's next send does besides a new message.
interface Composing {
  kind: 'reply' | 'edit';
  id: string;
  to: string;
  text: string;
}

// A message's first line, cut short, to quote it.
function quote(text: string): string {
  const line = text.split('\n')[0];
  return line.length > 80 ? `${line.slice(0, 80)}…` : line;
}

// The disappearing-message timers offered (seconds, label).
const TIMERS: [number, string][] = [
  [0, 'Messages stay'],
  [30, 'Disappear after 30 s'],
  [300, 'after 5 min'],
  [3600, 'after 1 hour'],
  [86400, 'after 1 day'],
  [604800, 'after 1 week'],
];

// Shows the conversation's timer, also one set elsewhere that the list does not offer.
function showTimer(select: HTMLSelectElement, seconds: number): void {
  const value = String(seconds);
  if (![...select.options].some((o) => o.value === value)) {
    select.append(h('option', { value }, `after ${seconds} s`));
  }
  select.value = value;
}

// A link code the page was opened with (a scanned QR code: /#link=CODE), taken out of the
// address at once so that it stays in no history entry.
let openedWithLink: string | null = null;
function linkFromUrl(): string {
  if (openedWithLink === null) {
    const match = /^#link=([A-Za-z0-9%-]*)$/.exec(location.hash);
    openedWithLink = '';
    if (match) {
      try {
        openedWithLink = decodeURIComponent(match[1]);
      } catch {
        // not a code
      }
      history.replaceState(null, '', location.pathname + location.search);
    }
  }
  return openedWithLink;
}

const LINK_POLL_MS = 1000;
const READ_DELAY_MS = 150;
const LINK_WAIT_MS = 10 * 60 * 1000;
// Raster images are shown inline (decoded by the browser from a blob: URL, never as a
// document); anything else is offered as a download.
const PREVIEWED = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif']);
const PREVIEW_MAX_BYTES = 10 * 1024 * 1024;

// A downloaded file, kept for the page's life so that redrawing shows it again at once.
interface Opened {
  url?: string;
  error?: string;
  progress?: number;
  redraw?: () => void;  // the newest element showing it
}

const app = document.getElementById('app')!;

class App {
  private current: string | null = null;
  private unread = new Map<string, number>();
  private keyWarnings = new Map<string, string>();
  private opened = new Map<string, Opened>();
  // The open conversation's drawn messages, by id, with what they were drawn from.
  private drawn = new Map<string, { key: string; el: HTMLLIElement }>();
  private readPending = false;
  private refreshing = false;
  private scrolling = false;
  // The open conversation's composer: a reply or an edit starts there.
  private compose: ((next: Composing | null) => void) | null = null;
  private stale = new Set<string>();
  private status = h('span', { class: 'status', role: 'status' });

  constructor(private readonly session: Session) {
    session.on((e) => this.onEvent(e));
  }

  start(): void {
    linkFromUrl();
    this.showConnection();
    if (this.session.hasAccount) this.renderMain();
    else this.renderWelcome();
  }

  // ---- sign in ---------------------------------------------------------------------------
  private renderWelcome(): void {
    const error = h('p', { class: 'error', role: 'alert' });
    // Each form signs in its own way; both wait for the connection, then show the chats.
    const signIn = (form: HTMLFormElement, failed: string, act: (data: FormData) => Promise<void>) =>
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const buttons = form.querySelectorAll('button');
        buttons.forEach((b) => (b.disabled = true));
        error.textContent = '';
        try {
          await this.session.whenConnected();
          await act(new FormData(form));
          this.renderMain();
        } catch (err) {
          error.textContent = `${failed}: ${describe(err)}`;
          buttons.forEach((b) => (b.disabled = false));
        }
      });
    const register = h(
      'form',
      { 'aria-label': 'Create an account' },
      h('h2', {}, 'Create an account'),
      field('Username', 'username', 'text', {
        required: true,
        pattern: '[a-z][a-z0-9._\\-]{2,31}',  // the pattern attribute's v-mode: - escaped
        title: '3 to 32 of a-z, 0-9, dot, underscore and dash, a letter first',
      }),
      field('E-mail', 'email', 'email', { required: true }),
      field('Password', 'password', 'password', { required: true, minlength: '8' }),
      field('Invite code (if the server asks for one)', 'invite'),
      h('button', { type: 'submit' }, 'Create account'),
    );
    signIn(register, 'Could not create the account', (data) =>
      this.session.register(
        String(data.get('username')),
        String(data.get('email')),
        String(data.get('password')),
        String(data.get('invite') ?? ''),
      ),
    );
    const login = h(
      'form',
      { 'aria-label': 'Add this browser to your account' },
      h('h2', {}, 'Already have an account?'),
      h('p', { class: 'hint' }, 'This browser becomes one more device of your account.'),
      field('Username', 'username', 'text', { required: true }),
      field('Password', 'password', 'password', { required: true }),
      h('button', { type: 'submit' }, 'Log in'),
    );
    signIn(login, 'Could not log in', (data) =>
      this.session.login(String(data.get('username')), String(data.get('password'))),
    );
    const link = h(
      'form',
      { 'aria-label': 'Link this browser' },
      h('h2', {}, 'Link to another device'),
      h(
        'p',
        { class: 'hint' },
        'On a device that has your account, choose "Link a new device" and type its code here. No password needed.',
      ),
      field('Link code', 'code', 'text', { required: true, spellcheck: 'false', value: linkFromUrl() }),
      h('button', { type: 'submit' }, 'Link this browser'),
    );
    const waiting = h('p', { class: 'hint', role: 'status' });
    signIn(link, 'Could not link this browser', async (data) => {
      await this.session.linkAccept(String(data.get('code')).trim());
      waiting.textContent = 'Waiting for the other device to add this browser…';
      const deadline = Date.now() + LINK_WAIT_MS;
      while (!(await this.session.linkWait())) {
        if (Date.now() > deadline) throw new Error('the other device did not answer in time');
        await sleep(LINK_POLL_MS);
      }
      waiting.textContent = '';
    });
    app.replaceChildren(
      h(
        'section',
        { class: 'welcome' },
        h('header', {}, h('h1', {}, 'Sotto'), this.status),
        h('p', { class: 'hint' }, 'End-to-end encrypted: the server relays what it cannot read.'),
        error,
        waiting,
        h('div', { class: 'forms' }, register, login, link),
      ),
    );
  }

  // ---- the chat list and a conversation --------------------------------------------------
  private list = h('ul', { class: 'conversations', 'aria-label': 'Conversations' });
  private pane = h('section', { class: 'pane' });

  private renderMain(): void {
    const newChat = h(
      'form',
      { class: 'new-chat', 'aria-label': 'New chat' },
      h('input', { name: 'username', placeholder: 'Username', 'aria-label': 'Chat with', required: true }),
      h('button', { type: 'submit' }, 'Chat'),
    );
    const newError = h('p', { class: 'error', role: 'alert' });
    newChat.addEventListener('submit', async (e) => {
      e.preventDefault();
      const name = String(new FormData(newChat).get('username')).trim();
      newError.textContent = '';
      try {
        const id = await this.directChat(name);
        newChat.reset();
        this.open(id);
      } catch (err) {
        newError.textContent = `Could not start a chat with ${name}: ${describe(err)}`;
      }
    });
    const newGroup = h(
      'form',
      { class: 'new-group', 'aria-label': 'New group' },
      h('input', { name: 'name', placeholder: 'Group name', 'aria-label': 'Group name', required: true }),
      h('input', {
        name: 'members',
        placeholder: 'Members: ann, bob',
        'aria-label': 'Members',
        required: true,
      }),
      h('button', { type: 'submit' }, 'Create group'),
    );
    newGroup.addEventListener('submit', async (e) => {
      e.preventDefault();
      const data = new FormData(newGroup);
      const members = String(data.get('members'))
        .split(/[\s,]+/)
        .filter(Boolean);
      newError.textContent = '';
      try {
        const id = await this.session.createGroup(String(data.get('name')).trim(), members);
        newGroup.reset();
        this.open(id);
      } catch (err) {
        newError.textContent = `Could not create the group: ${describe(err)}`;
      }
    });
    const sidebar = h(
      'aside',
      { class: 'sidebar' },
      h(
        'header',
        {},
        h('strong', { class: 'me' }, this.session.username),
        this.status,
        h('button', { type: 'button', class: 'link', onclick: () => this.renderContacts() }, 'Contacts'),
        h('button', { type: 'button', class: 'link', onclick: () => this.renderAccount() }, 'Account'),
      ),
      newChat,
      newGroup,
      newError,
      this.list,
    );
    app.replaceChildren(h('div', { class: 'main' }, sidebar, this.pane));
    app.classList.toggle('in-chat', false);
    this.renderList();
    if (this.current) this.open(this.current);
    else this.pane.replaceChildren(h('p', { class: 'empty' }, 'Pick a conversation or start one.'));
  }

  // The 1:1 conversation with `name`: the one there is, or a new one.
  private async directChat(name: string): Promise<string> {
    const existing = this.session
      .conversations()
      .find((c) => c.kind === 'direct' && c.member && c.members.includes(name));
    return existing ? existing.id : this.session.startConversation(name);
  }

  private renderList(): void {
    const conversations = this.session.conversations();
    this.list.replaceChildren(
      ...conversations.map((c) => {
        const unread = this.unread.get(c.id) ?? 0;
        return h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              class: c.id === this.current ? 'active' : '',
              'data-conversation': c.id,
              onclick: () => this.open(c.id),
            },
            h('span', { class: 'name' }, this.title(c)),
            unread > 0 && h('span', { class: 'badge', 'aria-label': `${unread} unread` }, String(unread)),
          ),
        );
      }),
    );
  }

  private title(c: Conversation): string {
    if (c.kind === 'group') return c.name || 'Unnamed group';
    const other = c.members.find((m) => m !== this.session.username);
    return other ?? c.name;
  }

  private open(id: string): void {
    const c = this.session.conversations().find((x) => x.id === id);
    if (!c) return;
    this.current = id;
    this.unread.delete(id);
    app.classList.toggle('in-chat', true);
    const others = c.members.filter((m) => m !== this.session.username);
    const warnings = others.filter((m) => this.keyWarnings.has(m));
    const messages = h('ol', { class: 'messages', 'aria-label': 'Messages', 'aria-live': 'polite' });
    const composer = h(
      'form',
      { class: 'composer', 'aria-label': 'Write a message' },
      h('textarea', {
        name: 'text',
        rows: '1',
        placeholder: c.member ? 'Message' : 'You are no longer in this conversation',
        'aria-label': 'Message',
        disabled: !c.member,
      }),
      h('button', { type: 'submit', disabled: !c.member }, 'Send'),
    );
    const input = composer.querySelector('textarea')!;
    const sendError = h('p', { class: 'error', role: 'alert' });
    const uploads = h('div', { class: 'uploads', 'aria-label': 'Uploads' });
    // Files: from the button or dropped on the conversation. Each is encrypted, uploaded with
    // a progress bar, then sent; the text typed meanwhile becomes the first file's caption.
    const sendFiles = async (files: FileList | null) => {
      if (!files || !c.member) return;
      for (const file of Array.from(files)) {
        const bar = h('progress', { max: '1', value: '0', 'aria-label': `Uploading ${file.name}` });
        const row = h('p', { class: 'upload' }, `${file.name} (${size(file.size)}) `, bar);
        uploads.append(row);
        const caption = input.value.trim();
        input.value = '';
        sendError.textContent = '';
        try {
          await this.session.sendFile(id, file, caption, (done, total) => {
            bar.value = total > 0 ? done / total : 1;
          });
        } catch (err) {
          sendError.textContent = `${file.name} was not sent: ${describe(err)}`;
          if (caption) input.value = caption;
        }
        row.remove();
        this.refresh(id);
      }
    };
    const picker = h('input', {
      type: 'file',
      multiple: true,
      hidden: true,
      'aria-label': 'Attach files',
      onchange: () => {
        void sendFiles(picker.files).then(() => (picker.value = ''));
      },
    });
    composer.prepend(
      picker,
      h(
        'button',
        { type: 'button', class: 'attach', disabled: !c.member, title: 'Attach a file', onclick: () => picker.click() },
        'Attach',
      ),
    );
    // What the next send does: a new message, an answer to one, or a change of one's own.
    let mode: Composing | null = null;
    const banner = h('p', { class: 'composing', role: 'status' });
    const compose = (next: Composing | null) => {
      const was = mode;
      mode = next;
      banner.replaceChildren(
        ...(next
          ? [
              next.kind === 'reply' ? `Replying to ${next.to}: ${quote(next.text)}` : 'Editing your message',
              h('button', { type: 'button', class: 'link', onclick: () => compose(null) }, 'Cancel'),
            ]
          : []),
      );
      if (next?.kind === 'edit') input.value = next.text;
      else if (was?.kind === 'edit') input.value = '';
      input.focus();
    };
    this.compose = c.member ? compose : null;
    const send = async () => {
      const text = input.value.trim();
      if (!text) return;
      const doing = mode;
      input.value = '';
      sendError.textContent = '';
      compose(null);
      try {
        if (doing?.kind === 'edit') await this.session.editMessage(id, doing.id, text);
        else if (doing?.kind === 'reply') await this.session.sendReply(id, doing.id, text);
        else await this.session.sendText(id, text);
      } catch (err) {
        sendError.textContent = `Not sent: ${describe(err)}`;
        compose(doing);
        input.value = text;
      }
      this.refresh(id);
    };
    composer.addEventListener('submit', (e) => {
      e.preventDefault();
      void send();
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        void send();
      }
    });
    const timerChoice = h(
      'select',
      { class: 'timer', 'aria-label': 'Disappearing messages', title: 'New messages disappear after' },
      ...TIMERS.map(([seconds, label]) => h('option', { value: String(seconds) }, label)),
    );
    showTimer(timerChoice, c.timer);
    timerChoice.addEventListener('change', async () => {
      sendError.textContent = '';
      try {
        await this.session.setTimer(id, Number(timerChoice.value));
      } catch (err) {
        sendError.textContent = `The timer was not set: ${describe(err)}`;
        showTimer(timerChoice, c.timer);
      }
    });
    const safety = h('p', { class: 'safety', 'aria-live': 'polite' });
    // A key change found by the lookup redraws the conversation (with its warning): the
    // answer goes to the line shown then.
    const showSafety = async () => {
      const say = (text: string) => {
        if (this.current !== id) return;
        this.pane.querySelector('.safety')!.textContent = text;
      };
      say('Looking up the keys…');
      try {
        const lines = await Promise.all(
          others.map(async (m) => `${m}: ${await this.session.safetyNumber(m)}`),
        );
        say(`Safety numbers — compare them with each person in person or on a call. ${lines.join(' · ')}`);
      } catch (err) {
        say(`Could not check the keys: ${describe(err)}`);
      }
    };
    this.pane.replaceChildren(
      h(
        'header',
        {},
        h('button', { type: 'button', class: 'back link', onclick: () => this.closeChat() }, '‹ Chats'),
        h('h2', {}, this.title(c)),
        c.kind === 'group' && h('span', { class: 'members' }, c.members.join(', ')),
        others.length > 0 &&
          h('button', { type: 'button', class: 'link', onclick: () => void showSafety() }, 'Safety number'),
        c.member && timerChoice,
      ),
      ...warnings.map((m) =>
        h(
          'p',
          { class: 'warning', role: 'alert' },
          `${m}'s keys have changed (a new device, or someone in between). Compare safety numbers before you trust this conversation. Was: ${this.keyWarnings.get(m)}`,
        ),
      ),
      safety,
      messages,
      uploads,
      sendError,
      banner,
      composer,
    );
    this.pane.ondragover = (e) => {
      if (!c.member || !e.dataTransfer?.types.includes('Files')) return;
      e.preventDefault();
      this.pane.classList.add('dropping');
    };
    this.pane.ondragleave = () => this.pane.classList.remove('dropping');
    this.pane.ondrop = (e) => {
      e.preventDefault();
      this.pane.classList.remove('dropping');
      void sendFiles(e.dataTransfer?.files ?? null);
    };
    this.drawn.clear();
    this.renderMessages(messages, id);
    this.renderList();
    input.focus();
  }

  private closeChat(): void {
    this.current = null;
    app.classList.toggle('in-chat', false);
    this.renderMain();
  }

  // Draws the conversation's history, making elements only for messages that are new or
  // changed since the last time (a burst of messages costs each one, not the whole history).
  private renderMessages(list: HTMLOListElement, id: string): void {
    const history = this.session.history(id);
    const seen = new Set<string>();
    const last = list.lastElementChild;
    let at = list.firstElementChild;
    const byId = new Map(history.map((m) => [m.id, m]));
    for (const m of history) {
      seen.add(m.id);
      const quoted = m.replyTo ? byId.get(m.replyTo) : undefined;
      // What the element shows, compared as one string (cheaper than serialising the message).
      const key = [
        m.state, m.deleted, m.edited, m.read, m.deliveredTo.join(), m.readBy.join(), m.body,
        m.timerSet, m.file?.name, quoted?.body, quoted?.deleted,
      ].join('\u0000');
      let drawn = this.drawn.get(m.id);
      if (!drawn || drawn.key !== key) {
        const el = this.message(m, quoted);
        if (drawn?.el.parentNode === list) {
          if (at === drawn.el) at = el;
          drawn.el.replaceWith(el);
        }
        drawn = { key, el };
        this.drawn.set(m.id, drawn);
      }
      if (drawn.el !== at) list.insertBefore(drawn.el, at);
      at = drawn.el.nextElementSibling;
    }
    while (at) {
      const next = at.nextElementSibling;
      at.remove();
      at = next;
    }
    for (const key of [...this.drawn.keys()]) if (!seen.has(key)) this.drawn.delete(key);
    // A new last message scrolls it into view when the reader was at the end, measured when
    // the browser lays the page out anyway (reading sizes here would force a layout now).
    if (list.lastElementChild !== last && !this.scrolling) {
      this.scrolling = true;
      requestAnimationFrame(() => {
        this.scrolling = false;
        const newest = list.lastElementChild as HTMLElement | null;
        const rest = list.scrollHeight - list.scrollTop - list.clientHeight;
        if (newest && rest - newest.offsetHeight < 80) list.scrollTop = list.scrollHeight;
      });
    }
    if (!this.readPending && history.some((m) => !m.outgoing && !m.read)) {
      // One read receipt for a burst: the messages that arrive meanwhile are marked with it.
      this.readPending = true;
      setTimeout(() => {
        this.readPending = false;
        if (this.current === id) this.session.markRead(id).catch(() => undefined);
      }, READ_DELAY_MS);
    }
  }

  private message(m: Message, quoted?: Message): HTMLLIElement {
    const state = m.outgoing ? this.outgoingState(m) : '';
    let body: Child;
    const system = m.timerSet !== undefined;
    if (m.deleted) body = 'This message was deleted.';
    else if (system)
      body = m.timerSet ? `Messages now disappear after ${m.timerSet} s.` : 'Disappearing messages are off.';
    else if (m.file) body = this.file(m);
    else body = m.body;
    const who = m.outgoing ? 'you' : m.sender;
    const actions = !m.deleted && !system && m.state !== 'failed' && this.compose !== null;
    return h(
      'li',
      { class: `${m.outgoing ? 'out' : 'in'}${system ? ' system' : ''}`, 'data-message': m.id, 'data-state': state },
      !m.outgoing && h('span', { class: 'sender' }, m.sender),
      m.replyTo !== undefined &&
        h(
          'span',
          { class: 'quote' },
          quoted
            ? `${quoted.outgoing ? 'you' : quoted.sender}: ${quoted.deleted ? 'a deleted message' : quote(quoted.file ? quoted.file.name : quoted.body)}`
            : 'a message not kept here',
        ),
      h('span', { class: 'body' }, body),
      h('span', { class: 'meta' }, `${time(m.sentAt)}${m.edited ? ' · edited' : ''}${state ? ' · ' + state : ''}`),
      actions &&
        h(
          'span',
          { class: 'actions' },
          h(
            'button',
            {
              type: 'button',
              class: 'link',
              onclick: () => this.compose?.({ kind: 'reply', id: m.id, to: who, text: m.file ? m.file.name : m.body }),
            },
            'Reply',
          ),
          m.outgoing &&
            !m.file &&
            h(
              'button',
              { type: 'button', class: 'link', onclick: () => this.compose?.({ kind: 'edit', id: m.id, to: who, text: m.body }) },
              'Edit',
            ),
          m.outgoing && this.deleteButton(m),
        ),
    );
  }

  // Deleting asks once more on the same button: it is for everyone, and cannot be undone.
  private deleteButton(m: Message): HTMLButtonElement {
    const button = h('button', { type: 'button', class: 'link danger-link' }, 'Delete');
    button.addEventListener('click', () => {
      if (!button.dataset.armed) {
        button.dataset.armed = 'true';
        button.textContent = 'Delete for everyone?';
        return;
      }
      button.disabled = true;
      this.session.deleteMessage(m.conversation, m.id).catch((err) => {
        button.textContent = `Not deleted: ${describe(err)}`;
      });
    });
    return button;
  }

  // A file message: an image is fetched, checked and decrypted at once and shown; any other
  // file (or a large image) waits for the user to ask for it.
  private file(m: Message): HTMLElement {
    const file = m.file!;
    const preview = PREVIEWED.has(file.type) && file.size <= PREVIEW_MAX_BYTES;
    const box = h('span', { class: 'file', 'data-file': file.name });
    const draw = () => {
      const opened = this.opened.get(m.id);
      const name = `${file.name} (${size(file.size)})`;
      const parts: (Node | string)[] = [];
      if (opened?.url && preview) {
        parts.push(h('img', { class: 'preview', src: opened.url, alt: file.name }));
      }
      if (opened?.url) {
        parts.push(h('a', { class: 'download', href: opened.url, download: file.name }, `Save ${name}`));
      } else if (opened?.error) {
        parts.push(h('span', { class: 'error' }, `${name}: ${opened.error}`));
      } else if (opened) {
        parts.push(name, ' ', h('progress', { max: '1', value: String(opened.progress ?? 0) }));
      } else {
        parts.push(h('button', { type: 'button', class: 'link', onclick: () => open() }, `Download ${name}`));
      }
      if (m.body) parts.push(h('span', { class: 'caption' }, m.body));
      box.replaceChildren(...parts);
    };
    const open = () => {
      const opened: Opened = { progress: 0, redraw: draw };
      this.opened.set(m.id, opened);
      draw();
      this.session
        .openFile(m.conversation, m.id, (done, total) => {
          opened.progress = total > 0 ? done / total : 1;
          opened.redraw?.();
        })
        .then((plain) => {
          const type = PREVIEWED.has(file.type) ? file.type : 'application/octet-stream';
          opened.url = URL.createObjectURL(new Blob(plain, { type }));
        })
        .catch((err) => (opened.error = describe(err)))
        .finally(() => opened.redraw?.());
    };
    const opened = this.opened.get(m.id);
    if (opened) opened.redraw = draw;
    if (preview && !opened && !m.deleted) open();
    else draw();
    return box;
  }

  private outgoingState(m: Message): string {
    if (m.state === 'failed') return 'failed';
    if (m.state === 'pending') return 'sending';
    if (m.readBy.length > 0) return 'read';
    if (m.deliveredTo.length > 0) return 'delivered';
    return 'sent';
  }

  // ---- the account page ------------------------------------------------------------------
  // ---- contacts ------------------------------------------------------------------------
  // People looked up in the key directory, with their devices as its proof showed them.
  private renderContacts(): void {
    const note = h('p', { class: 'error', role: 'alert' });
    const list = h('ul', { class: 'contacts', 'aria-label': 'Contacts' });
    const draw = () => {
      const contacts = this.session.contacts();
      list.replaceChildren(
        ...(contacts.length === 0 ? [h('li', { class: 'hint' }, 'No contacts yet.')] : []),
        ...contacts.map((c) => {
          const safety = h('span', { class: 'safety' });
          return h(
            'li',
            { 'data-contact': c.username },
            h('strong', {}, c.username),
            h(
              'span',
              { class: 'hint' },
              ` ${c.devices} ${c.devices === 1 ? 'device' : 'devices'}, checked against the key directory (epoch ${c.epoch})`,
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'link',
                onclick: async () => {
                  try {
                    const id = await this.directChat(c.username);
                    this.renderMain();
                    this.open(id);
                  } catch (err) {
                    note.textContent = `Could not start a chat with ${c.username}: ${describe(err)}`;
                  }
                },
              },
              'Chat',
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'link',
                onclick: async () => {
                  safety.textContent = 'Looking up the keys…';
                  try {
                    safety.textContent = await this.session.safetyNumber(c.username);
                    draw();  // the lookup may have found other devices
                  } catch (err) {
                    safety.textContent = `Could not check the keys: ${describe(err)}`;
                  }
                },
              },
              'Safety number',
            ),
            safety,
          );
        }),
      );
    };
    const add = h(
      'form',
      { class: 'new-chat', 'aria-label': 'Add a contact' },
      h('input', { name: 'username', placeholder: 'Username', 'aria-label': 'Contact username', required: true }),
      h('button', { type: 'submit' }, 'Add'),
    );
    add.addEventListener('submit', async (e) => {
      e.preventDefault();
      const name = String(new FormData(add).get('username')).trim();
      note.textContent = '';
      try {
        await this.session.addContact(name);
        add.reset();
        draw();
      } catch (err) {
        note.textContent = `Could not add ${name}: ${describe(err)}`;
      }
    });
    draw();
    app.replaceChildren(
      h(
        'section',
        { class: 'account' },
        h(
          'header',
          {},
          h('button', { type: 'button', class: 'link', onclick: () => this.renderMain() }, '‹ Chats'),
          h('h2', {}, 'Contacts'),
        ),
        h(
          'p',
          { class: 'hint' },
          "A contact's devices are those the key directory proves: the proof is checked here, not taken on the server's word.",
        ),
        add,
        note,
        list,
      ),
    );
  }

  private renderAccount(): void {
    const devices = h('ul', { class: 'devices', 'aria-label': 'Devices' }, h('li', {}, 'Loading…'));
    this.session
      .listDevices()
      .then((list) =>
        devices.replaceChildren(...list.map((d) => h('li', {}, `${d.name} (${d.id.slice(0, 8)}…)`))),
      )
      .catch((err) => devices.replaceChildren(h('li', {}, `Could not list devices: ${describe(err)}`)));
    const linkNote = h('p', { class: 'link-code', role: 'status' });
    const linkButton = h('button', { type: 'button' }, 'Link a new device');
    // Shows a code for the new device to type, then reads the slot each second until that
    // device has posted its key (the core adds it to the account and to every conversation).
    linkButton.addEventListener('click', async () => {
      linkButton.disabled = true;
      try {
        const slot = await this.session.linkOffer();
        // The QR code opens this server's page with the code in the fragment, which the
        // browser does not send: a phone's camera is enough.
        const url = `${location.origin}/#link=${encodeURIComponent(slot.code)}`;
        linkNote.replaceChildren(
          qrCanvas(url, 'Link code as a QR code'),
          h(
            'span',
            {},
            'Scan this with the new device, or there choose "Link to another device" and type: ',
            h('code', { class: 'code' }, slot.code),
            ` (valid until ${time(slot.expiresAt)}). Anyone with this code can add a device to your account: keep it to yourself.`,
          ),
        );
        for (;;) {
          const linked = await this.session.linkPoll();
          if (linked) {
            linkNote.textContent = `Linked "${linked.name}" (${linked.id.slice(0, 8)}…): it is in your conversations now.`;
            break;
          }
          if (Date.now() > slot.expiresAt || !linkNote.isConnected) {
            if (linkNote.isConnected) linkNote.textContent = 'No device used the code in time.';
            break;
          }
          await sleep(LINK_POLL_MS);
        }
      } catch (err) {
        linkNote.textContent = `Could not link a device: ${describe(err)}`;
      }
      linkButton.disabled = false;
    });
    const note = h('p', { role: 'status' });
    const exportButton = h('button', { type: 'button' }, 'Download my data');
    exportButton.addEventListener('click', async () => {
      try {
        const json = await this.session.exportAccount();
        const url = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
        const a = h('a', { href: url, download: `sotto-${this.session.username}.json` });
        a.click();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
        note.textContent = 'Your data was downloaded.';
      } catch (err) {
        note.textContent = `Could not export: ${describe(err)}`;
      }
    });
    const erase = h(
      'form',
      { 'aria-label': 'Delete account' },
      h('h3', {}, 'Delete account'),
      h('p', { class: 'hint' }, 'Everything the server holds about you is erased at once. This cannot be undone.'),
      field('Password', 'password', 'password', { required: true }),
      h('button', { type: 'submit', class: 'danger' }, 'Delete my account'),
    );
    erase.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await this.session.deleteAccount(String(new FormData(erase).get('password')));
        await this.session.close(true);
        app.replaceChildren(h('section', { class: 'welcome' }, h('h1', {}, 'Your account was deleted.')));
      } catch (err) {
        note.textContent = `Could not delete the account: ${describe(err)}`;
      }
    });
    app.replaceChildren(
      h(
        'section',
        { class: 'account' },
        h(
          'header',
          {},
          h('button', { type: 'button', class: 'link', onclick: () => this.renderMain() }, '‹ Chats'),
          h('h2', {}, this.session.username),
        ),
        h('h3', {}, 'Devices'),
        devices,
        linkButton,
        linkNote,
        h('h3', {}, 'Your data'),
        exportButton,
        note,
        erase,
        h('h3', {}, 'Log out'),
        h(
          'p',
          { class: 'hint' },
          'This browser keeps your chats encrypted until you log out; logging out deletes them here.',
        ),
        h(
          'button',
          {
            type: 'button',
            onclick: async () => {
              await this.session.close(true);
              location.reload();
            },
          },
          'Log out',
        ),
      ),
    );
  }

  // ---- what the core tells -----------------------------------------------------------------
  private showConnection(): void {
    this.status.textContent = this.session.isConnected ? 'online' : 'connecting…';
    this.status.dataset.online = String(this.session.isConnected);
  }

  private onEvent(e: CoreEvent): void {
    switch (e.type) {
      case 'connection':
        this.showConnection();
        break;
      case 'message':
        if (e.message.conversation !== this.current && !e.message.outgoing) {
          this.unread.set(e.message.conversation, (this.unread.get(e.message.conversation) ?? 0) + 1);
        }
        this.refresh(e.message.conversation);
        break;
      case 'message_changed':
      case 'message_expired':
        this.refresh(e.message.conversation);
        break;
      case 'delivery':
        this.refresh(e.conversation);
        break;
      case 'conversation':
        this.refresh(e.conversation.id);
        break;
      case 'keys_changed':
        this.keyWarnings.set(e.username, e.before);
        if (this.current && this.list.isConnected) this.open(this.current);
        break;
      case 'session_ended':
        void this.session.close(true);
        app.replaceChildren(
          h('section', { class: 'welcome' }, h('h1', {}, 'Signed out'), h('p', {}, `The server ended this session (${e.reason}).`)),
        );
        break;
      default:
        break;
    }
  }

  // Redraws once for all the events of one frame from the server (they come in one call).
  private refresh(conversation: string | null): void {
    if (conversation !== null) this.stale.add(conversation);
    if (this.refreshing) return;
    this.refreshing = true;
    queueMicrotask(() => {
      this.refreshing = false;
      const stale = this.stale;
      this.stale = new Set();
      if (!this.list.isConnected) return;  // another screen is shown
      this.renderList();
      if (this.current !== null && stale.has(this.current)) {
        const list = this.pane.querySelector<HTMLOListElement>('ol.messages');
        if (list) this.renderMessages(list, this.current);
        const timer = this.pane.querySelector<HTMLSelectElement>('select.timer');
        const c = this.session.conversations().find((x) => x.id === this.current);
        if (timer && c) showTimer(timer, c.timer);
      }
    });
  }
}

Session.open()
  .then((session) => new App(session).start())
  .catch((err) => {
    app.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Sotto could not start: ${describe(err)}`));
  });
