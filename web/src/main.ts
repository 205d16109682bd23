// The web client's screens: sign in (create an account or add this browser to one), the chat
// list, a conversation, and the account page. Everything shown is set as text, never parsed
// as HTML.
import './style.css';
import { CoreFailure, Session, type Conversation, type CoreEvent, type Message } from './core';

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

const app = document.getElementById('app')!;

class App {
  private current: string | null = null;
  private unread = new Map<string, number>();
  private keyWarnings = new Map<string, string>();
  private status = h('span', { class: 'status', role: 'status' });

  constructor(private readonly session: Session) {
    session.on((e) => this.onEvent(e));
  }

  start(): void {
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
    app.replaceChildren(
      h(
        'section',
        { class: 'welcome' },
        h('header', {}, h('h1', {}, 'Sotto'), this.status),
        h('p', { class: 'hint' }, 'End-to-end encrypted: the server relays what it cannot read.'),
        error,
        h('div', { class: 'forms' }, register, login),
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
        const existing = this.session
          .conversations()
          .find((c) => c.kind === 'direct' && c.member && c.members.includes(name));
        const id = existing ? existing.id : await this.session.startConversation(name);
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
    const send = async () => {
      const text = input.value.trim();
      if (!text) return;
      input.value = '';
      sendError.textContent = '';
      try {
        await this.session.sendText(id, text);
      } catch (err) {
        sendError.textContent = `Not sent: ${describe(err)}`;
        input.value = text;
      }
      this.renderMessages(messages, id);
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
      sendError,
      composer,
    );
    this.renderMessages(messages, id);
    this.renderList();
    input.focus();
  }

  private closeChat(): void {
    this.current = null;
    app.classList.toggle('in-chat', false);
    this.renderMain();
  }

  private renderMessages(list: HTMLOListElement, id: string): void {
    const history = this.session.history(id);
    list.replaceChildren(...history.map((m) => this.message(m)));
    list.scrollTop = list.scrollHeight;
    if (history.some((m) => !m.outgoing && !m.read)) {
      this.session.markRead(id).catch(() => undefined);
    }
  }

  private message(m: Message): HTMLLIElement {
    const state = m.outgoing ? this.outgoingState(m) : '';
    let body: string;
    if (m.deleted) body = 'This message was deleted.';
    else if (m.timerSet !== undefined)
      body = m.timerSet ? `Messages now disappear after ${m.timerSet} s.` : 'Disappearing messages are off.';
    else if (m.file) body = `[file] ${m.file.name} (${m.file.size} bytes)${m.body ? ' — ' + m.body : ''}`;
    else body = m.body;
    return h(
      'li',
      { class: m.outgoing ? 'out' : 'in', 'data-message': m.id, 'data-state': state },
      !m.outgoing && h('span', { class: 'sender' }, m.sender),
      h('span', { class: 'body' }, body),
      h('span', { class: 'meta' }, `${time(m.sentAt)}${m.edited ? ' · edited' : ''}${state ? ' · ' + state : ''}`),
    );
  }

  private outgoingState(m: Message): string {
    if (m.state === 'failed') return 'failed';
    if (m.state === 'pending') return 'sending';
    if (m.readBy.length > 0) return 'read';
    if (m.deliveredTo.length > 0) return 'delivered';
    return 'sent';
  }

  // ---- the account page ------------------------------------------------------------------
  private renderAccount(): void {
    const devices = h('ul', { class: 'devices', 'aria-label': 'Devices' }, h('li', {}, 'Loading…'));
    this.session
      .listDevices()
      .then((list) =>
        devices.replaceChildren(...list.map((d) => h('li', {}, `${d.name} (${d.id.slice(0, 8)}…)`))),
      )
      .catch((err) => devices.replaceChildren(h('li', {}, `Could not list devices: ${describe(err)}`)));
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

  private refresh(conversation: string | null): void {
    if (!this.list.isConnected) return;  // another screen is shown
    this.renderList();
    if (conversation !== null && conversation === this.current) {
      const list = this.pane.querySelector<HTMLOListElement>('ol.messages');
      if (list) this.renderMessages(list, conversation);
    }
  }
}

Session.open()
  .then((session) => new App(session).start())
  .catch((err) => {
    app.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Sotto could not start: ${describe(err)}`));
  });
