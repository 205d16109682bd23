#include "sotto/mls/messages.h"

#include <string>

namespace sotto::mls {

namespace {

// The tag of the alternative a variant holds.
template <class Variant>
auto tag_of(const Variant& v) {
  return std::visit([](const auto& alt) { return alt.tls_tag; }, v);
}

}  // namespace

CredentialType Credential::type() const {
  return tag_of(content);
}

LeafNodeSource LeafNode::source_type() const {
  return tag_of(source);
}

NodeType Node::type() const {
  return tag_of(content);
}

ProposalType Proposal::type() const {
  return tag_of(content);
}

SenderType Sender::type() const {
  return tag_of(content);
}

ContentType FramedContent::content_type() const {
  return tag_of(content);
}

WireFormat MlsMessage::wire_format() const {
  return tag_of(content);
}

const Extension* find_extension(const std::vector<Extension>& extensions, ExtensionType type) {
  for (const auto& extension : extensions) {
    if (extension.extension_type == type) return &extension;
  }
  return nullptr;
}

// ---- ProposalOrRef ---------------------------------------------------------------------

ProposalOrRefType ProposalOrRef::type() const {
  return std::holds_alternative<Proposal>(content) ? ProposalOrRefType::proposal
                                                   : ProposalOrRefType::reference;
}

void ProposalOrRef::tls_write(tls::Writer& w) const {
  tls::write(w, type());
  if (const auto* proposal = std::get_if<Proposal>(&content)) {
    tls::write(w, *proposal);
  } else {
    tls::write(w, std::get<ProposalRef>(content));
  }
}

Result<void> ProposalOrRef::tls_read(tls::Reader& r) {
  ProposalOrRefType tag{};
  SOTTO_TRY(tls::read(r, tag));
  switch (tag) {
    case ProposalOrRefType::proposal: {
      Proposal proposal;
      SOTTO_TRY(tls::read(r, proposal));
      content = std::move(proposal);
      return success();
    }
    case ProposalOrRefType::reference: {
      ProposalRef ref;
      SOTTO_TRY(tls::read(r, ref));
      content = std::move(ref);
      return success();
    }
    case ProposalOrRefType::reserved:
      break;
  }
  return Error(Errc::invalid_value,
               "unknown ProposalOrRefType " + std::to_string(static_cast<unsigned>(tag)));
}

// ---- FramedContentAuthData, PublicMessage ----------------------------------------------

void FramedContentAuthData::write_for(tls::Writer& w, ContentType content_type) const {
  tls::write(w, signature);
  if (content_type == ContentType::commit) tls::write(w, confirmation_tag.value_or(Mac{}));
}

Result<void> FramedContentAuthData::read_for(tls::Reader& r, ContentType content_type) {
  SOTTO_TRY(tls::read(r, signature));
  confirmation_tag.reset();
  if (content_type == ContentType::commit) {
    Mac tag;
    SOTTO_TRY(tls::read(r, tag));
    confirmation_tag = std::move(tag);
  }
  return success();
}

void PublicMessage::tls_write(tls::Writer& w) const {
  tls::write(w, content);
  auth.write_for(w, content.content_type());
  if (content.sender.type() == SenderType::member) {
    tls::write(w, membership_tag.value_or(Mac{}));
  }
}

Result<void> PublicMessage::tls_read(tls::Reader& r) {
  SOTTO_TRY(tls::read(r, content));
  SOTTO_TRY(auth.read_for(r, content.content_type()));
  membership_tag.reset();
  if (content.sender.type() == SenderType::member) {
    Mac tag;
    SOTTO_TRY(tls::read(r, tag));
    membership_tag = std::move(tag);
  }
  return success();
}

// ---- MlsMessage ------------------------------------------------------------------------

void MlsMessage::tls_write(tls::Writer& w) const {
  tls::write(w, version);
  tls::write(w, content);
}

Result<void> MlsMessage::tls_read(tls::Reader& r) {
  SOTTO_TRY(tls::read(r, version));
  if (version != ProtocolVersion::mls10) {
    return Error(Errc::invalid_value, "MLSMessage of protocol version " +
                                          std::to_string(static_cast<unsigned>(version)) +
                                          ", only mls10 is known");
  }
  return tls::read(r, content);
}

}  // namespace sotto::mls
