#include "sotto/client/vcard.h"

#include <algorithm>
#include <optional>

#include "sotto/client/engine.h"
#include "sotto/core/encoding.h"
#include "sotto/proto/protocol.h"

namespace sotto::client {
namespace {

Error bad(size_t line, const std::string& what) {
  return Error(Errc::invalid_value, "vCard line " + std::to_string(line) + ": " + what);
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

// One logical line, unfolded: NAME;PARAM=VALUE;...:VALUE
struct Property {
  std::string name;                 // lower case, group prefix ("item1.") dropped
  std::vector<std::string> params;  // lower case, as written between ';'
  std::string value;                // raw
  size_t line = 0;                  // where it started, for errors
};

bool quoted_printable(const Property& p) {
  return std::any_of(p.params.begin(), p.params.end(), [](const std::string& param) {
    return param == "encoding=quoted-printable" || param == "quoted-printable";
  });
}

// Splits at the first ':' outside a quoted parameter value.
std::optional<Property> split_property(std::string_view text, size_t line) {
  bool quoted = false;
  size_t colon = std::string_view::npos;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;
    if (text[i] == ':' && !quoted) {
      colon = i;
      break;
    }
  }
  if (colon == std::string_view::npos) return std::nullopt;
  Property p;
  p.line = line;
  std::string_view head = text.substr(0, colon);
  p.value = std::string(text.substr(colon + 1));
  size_t semi = head.find(';');
  std::string_view name = head.substr(0, semi);
  if (auto dot = name.rfind('.'); dot != std::string_view::npos) name.remove_prefix(dot + 1);
  p.name = lower(name);
  while (semi != std::string_view::npos) {
    head.remove_prefix(semi + 1);
    semi = head.find(';');
    p.params.push_back(lower(head.substr(0, semi)));
  }
  return p;
}

std::string decode_quoted_printable(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '=' && i + 2 < text.size()) {
      const int hi = hex_digit_value(text[i + 1]), lo = hex_digit_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

// RFC 6350 section 3.4: \n or \N is a newline, \, \; \\ the character itself.
std::string unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      const char next = text[++i];
      out.push_back(next == 'n' || next == 'N' ? '\n' : next);
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// The components of a structured value (N), split at unescaped ';', each unescaped.
std::vector<std::string> components(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      current.push_back(text[i]);
      current.push_back(text[++i]);
    } else if (text[i] == ';') {
      out.push_back(unescape(current));
      current.clear();
    } else {
      current.push_back(text[i]);
    }
  }
  out.push_back(unescape(current));
  return out;
}

// Control characters (C0, DEL, C1) become spaces, runs of spaces one, ends trimmed: a name is
// printed on terminals.
std::string printable(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    bool control = c < 0x20 || c == 0x7f;
    // C1 controls are U+0080..U+009F: 0xC2 0x80..0x9F in UTF-8.
    if (c == 0xc2 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9f) {
        control = true;
        ++i;
      }
    }
    if (control) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else if (c != ' ' || (!out.empty() && out.back() != ' ')) {
      out.push_back(static_cast<char>(c));
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  // A quoted-printable value in another character set decodes to bytes that are not UTF-8:
  // those are shown as '?' rather than passed on.
  if (!proto::is_valid_utf8(out)) {
    for (char& c : out) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
  }
  return out;
}

std::optional<std::string> sotto_username(std::string_view value) {
  std::string name = normalize_username(value);
  if (!is_valid_username(name)) return std::nullopt;
  return name;
}

struct CardBuilder {
  VCard card;
  std::string formatted, structured, nickname;

  void add(const Property& p) {
    const std::string raw = quoted_printable(p) ? decode_quoted_printable(p.value) : p.value;
    if (p.name == "fn") {
      formatted = printable(unescape(raw));
    } else if (p.name == "n") {
      auto parts = components(raw);  // family; given; additional; prefixes; suffixes
      parts.resize(5);
      std::string name;
      for (size_t i : {3u, 1u, 2u, 0u, 4u}) {
        if (parts[i].empty()) continue;
        if (!name.empty()) name += ' ';
        name += parts[i];
      }
      structured = printable(name);
    } else if (p.name == "nickname") {
      nickname = printable(components(raw).front());
    } else if (p.name == "email") {
      if (auto v = printable(unescape(raw)); !v.empty()) card.emails.push_back(v);
    } else if (p.name == "tel") {
      std::string v = printable(unescape(raw));
      if (iequals(std::string_view(v).substr(0, 4), "tel:")) v.erase(0, 4);
      if (!v.empty()) card.phones.push_back(v);
    } else if (p.name == "impp") {
      const std::string v = unescape(raw);
      if (v.size() > 6 && iequals(std::string_view(v).substr(0, 6), "sotto:")) {
        add_username(std::string_view(v).substr(6));
      }
    } else if (p.name == "x-sotto") {
      add_username(unescape(raw));
    } else if (p.name == "url") {
      // A URL value is not escaped in 4.0, but 3.0 writers escape ',' and ';'.
      auto link = parse_invite_link(raw);
      if (!link) link = parse_invite_link(unescape(raw));
      if (link && std::find(card.invite_links.begin(), card.invite_links.end(), *link) ==
                      card.invite_links.end()) {
        card.invite_links.push_back(*link);
      }
    }
  }

  void add_username(std::string_view value) {
    auto name = sotto_username(value);
    if (name && std::find(card.usernames.begin(), card.usernames.end(), *name) ==
                    card.usernames.end()) {
      card.usernames.push_back(*name);
    }
  }

  VCard finish() {
    card.name = !formatted.empty() ? formatted : !structured.empty() ? structured : nickname;
    return std::move(card);
  }
};

}  // namespace

Result<std::vector<VCard>> parse_vcards(std::string_view text) {
  if (text.size() > kMaxVCardFileBytes) {
    return Error(Errc::invalid_value, "the vCard file is over " +
                                          std::to_string(kMaxVCardFileBytes >> 20) + " MiB");
  }
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a byte order mark
  if (!proto::is_valid_utf8(text)) {
    return Error(Errc::invalid_value, "the vCard file is not UTF-8 text");
  }

  // Physical lines, then logical ones: folds joined, quoted-printable soft breaks too.
  std::vector<std::pair<std::string, size_t>> logical;  // (text, first line number)
  bool soft_break = false;
  size_t number = 0;
  while (!text.empty()) {
    const size_t lf = text.find('\n');
    std::string_view line = text.substr(0, lf);
    text = lf == std::string_view::npos ? std::string_view{} : text.substr(lf + 1);
    ++number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (soft_break && !logical.empty()) {
      logical.back().first.pop_back();  // the '=' that asked for the next line
      logical.back().first += line;
    } else if ((line.starts_with(' ') || line.starts_with('\t')) && !logical.empty()) {
      logical.back().first += line.substr(1);
    } else {
      logical.emplace_back(std::string(line), number);
    }
    const std::string& current = logical.empty() ? std::string() : logical.back().first;
    soft_break = current.ends_with('=') && current.find(':') != std::string::npos &&
                 lower(current.substr(0, current.find(':'))).find("quoted-printable") !=
                     std::string::npos;
  }

  std::vector<VCard> cards;
  std::optional<CardBuilder> card;
  for (const auto& [line, at] : logical) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank
    auto property = split_property(line, at);
    if (!property) return bad(at, "no ':' between a property's name and its value");
    if (property->name == "begin") {
      if (!iequals(property->value, "vcard")) return bad(at, "BEGIN of something not a vCard");
      if (card) return bad(at, "a vCard inside a vCard");
      if (cards.size() == kMaxVCards) {
        return Error(Errc::invalid_value,
                     "more than " + std::to_string(kMaxVCards) + " vCards in one file");
      }
      card.emplace();
    } else if (property->name == "end") {
      if (!card || !iequals(property->value, "vcard")) return bad(at, "END without BEGIN:VCARD");
      cards.push_back(card->finish());
      card.reset();
    } else if (!card) {
      return bad(at, "a property outside BEGIN:VCARD ... END:VCARD");
    } else {
      card->add(*property);
    }
  }
  if (card) return Error(Errc::invalid_value, "the last vCard has no END:VCARD");
  return cards;
}

}  // namespace sotto::client
