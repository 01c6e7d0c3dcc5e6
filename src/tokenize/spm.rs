//! Reads SentencePiece `.model` / `.spm` files natively and tokenizes with them.
//!
//! Hub repositories of Marian (opus-mt) and T5-family models ship only the
//! SentencePiece protobuf, no `tokenizer.json`. This module parses that
//! protobuf with a small hand-written reader (no protobuf crate), reproduces
//! sentencepiece's own normalization and unigram Viterbi segmentation so that
//! [`SentencePieceModel::encode`] gives exactly the pieces that
//! `SentencePieceProcessor.encode(text, out_type=str)` gives, decodes pieces
//! the way `decode_pieces` does. The tests also build an equivalent
//! `tokenizers::Tokenizer` from it (`SentencePieceModel::to_tokenizer`) and
//! check the two agree.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[cfg(test)]
use tokenizers::decoders::byte_fallback::ByteFallback;
#[cfg(test)]
use tokenizers::decoders::metaspace::Metaspace as MetaspaceDecoder;
#[cfg(test)]
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
#[cfg(test)]
use tokenizers::decoders::DecoderWrapper;
#[cfg(test)]
use tokenizers::models::unigram::Unigram;
#[cfg(test)]
use tokenizers::normalizers::replace::ReplacePattern;
#[cfg(test)]
use tokenizers::normalizers::{Precompiled, Prepend, Replace, Sequence as NormalizerSequence};
#[cfg(test)]
use tokenizers::pre_tokenizers::metaspace::PrependScheme;
#[cfg(test)]
use tokenizers::{AddedToken, NormalizerWrapper, Tokenizer};

/// The meta symbol sentencepiece writes in place of a space (U+2581).
pub(crate) const SPACE_SYMBOL: char = '\u{2581}';

/// Score bonus sentencepiece subtracts from the worst piece score to price an
/// unknown character (`kUnkPenalty`).
const UNKNOWN_PENALTY: f32 = 10.0;

/// Text sentencepiece emits for an `<unk>` piece when decoding, unless the
/// model sets its own (`kDefaultUnknownSymbol`).
const DEFAULT_UNKNOWN_SURFACE: &str = " \u{2047} ";

/// Errors from reading or using a SentencePiece model.
#[derive(Debug, thiserror::Error)]
pub enum SpmError {
    #[error("cannot read SentencePiece model {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed SentencePiece model {path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error(
        "SentencePiece model {path} uses the {model_type:?} algorithm; only unigram models are supported"
    )]
    UnsupportedModelType {
        path: PathBuf,
        model_type: ModelType,
    },
    #[error("SentencePiece model {path} uses {feature}, which to_tokenizer cannot express")]
    UnsupportedFeature {
        path: PathBuf,
        feature: &'static str,
    },
    #[error("cannot build a tokenizers pipeline from SentencePiece model {path}")]
    Tokenizers {
        path: PathBuf,
        #[source]
        source: tokenizers::Error,
    },
}

/// Segmentation algorithm a model was trained with (`TrainerSpec.model_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelType {
    Unigram,
    Bpe,
    Word,
    Char,
    /// A value this reader does not know.
    Unknown(i32),
}

impl ModelType {
    fn from_proto(value: i32) -> Self {
        match value {
            1 => Self::Unigram,
            2 => Self::Bpe,
            3 => Self::Word,
            4 => Self::Char,
            other => Self::Unknown(other),
        }
    }
}

/// Role of a vocabulary entry (`SentencePiece.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PieceType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl PieceType {
    fn from_proto(value: i32) -> Result<Self, String> {
        Ok(match value {
            1 => Self::Normal,
            2 => Self::Unknown,
            3 => Self::Control,
            4 => Self::UserDefined,
            5 => Self::Unused,
            6 => Self::Byte,
            other => return Err(format!("unknown piece type {other}")),
        })
    }
}

/// One vocabulary entry; its id is its position in [`SentencePieceModel::pieces`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Piece {
    pub(crate) text: String,
    pub(crate) score: f32,
    pub(crate) kind: PieceType,
}

/// The parts of `TrainerSpec` that affect encoding and decoding.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrainerSpec {
    pub(crate) model_type: ModelType,
    pub(crate) vocab_size: i32,
    pub(crate) byte_fallback: bool,
    pub(crate) treat_whitespace_as_suffix: bool,
    pub(crate) unk_id: i32,
    pub(crate) bos_id: i32,
    pub(crate) eos_id: i32,
    pub(crate) pad_id: i32,
    pub(crate) unk_piece: String,
    pub(crate) bos_piece: String,
    pub(crate) eos_piece: String,
    pub(crate) pad_piece: String,
    pub(crate) unk_surface: String,
}

impl Default for TrainerSpec {
    // Protobuf defaults from sentencepiece_model.proto: absent fields mean these.
    fn default() -> Self {
        Self {
            model_type: ModelType::Unigram,
            vocab_size: 8000,
            byte_fallback: false,
            treat_whitespace_as_suffix: false,
            unk_id: 0,
            bos_id: 1,
            eos_id: 2,
            pad_id: -1,
            unk_piece: "<unk>".to_owned(),
            bos_piece: "<s>".to_owned(),
            eos_piece: "</s>".to_owned(),
            pad_piece: "<pad>".to_owned(),
            unk_surface: DEFAULT_UNKNOWN_SURFACE.to_owned(),
        }
    }
}

/// `NormalizerSpec`: how raw text becomes the string that is segmented.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NormalizerSpec {
    pub(crate) name: String,
    pub(crate) precompiled_charsmap: Vec<u8>,
    pub(crate) add_dummy_prefix: bool,
    pub(crate) remove_extra_whitespaces: bool,
    pub(crate) escape_whitespaces: bool,
}

impl Default for NormalizerSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        }
    }
}

/// A parsed SentencePiece model, ready to encode and decode.
#[derive(Debug, Clone)]
pub(crate) struct SentencePieceModel {
    /// Named in `to_tokenizer`'s errors, which only the tests build.
    #[cfg_attr(not(test), allow(dead_code))]
    source: PathBuf,
    pieces: Vec<Piece>,
    trainer: TrainerSpec,
    normalizer_spec: NormalizerSpec,
    normalizer: Normalizer,
    denormalizer: Option<Normalizer>,
    /// Pieces the segmenter may produce (normal, user-defined, unused), as sentencepiece's `pieces_`.
    segmentable: HashMap<String, u32>,
    /// Control, unknown and byte pieces (sentencepiece's `reserved_id_map_`).
    reserved: HashMap<String, u32>,
    longest_piece_bytes: usize,
    unk_id: u32,
    min_normal_score: f32,
    max_normal_score: f32,
}

impl SentencePieceModel {
    /// Reads and parses a `.model` / `.spm` file.
    pub(crate) fn from_file(path: &Path) -> Result<Self, SpmError> {
        let bytes = std::fs::read(path).map_err(|source| SpmError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&bytes, path.to_path_buf())
    }

    /// Parses a serialized `ModelProto` held in memory.
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, SpmError> {
        Self::parse(bytes, PathBuf::from("<in-memory model>"))
    }

    fn parse(bytes: &[u8], source: PathBuf) -> Result<Self, SpmError> {
        let parse_error = |reason: String| SpmError::Parse {
            path: source.clone(),
            reason,
        };
        let proto = parse_model_proto(bytes).map_err(parse_error)?;
        if proto.trainer.model_type != ModelType::Unigram {
            return Err(SpmError::UnsupportedModelType {
                path: source,
                model_type: proto.trainer.model_type,
            });
        }
        if proto.pieces.is_empty() {
            return Err(parse_error("the model has no pieces".to_owned()));
        }
        let mut segmentable = HashMap::new();
        let mut reserved = HashMap::new();
        let mut unk_id = None;
        let mut min_normal_score = f32::MAX;
        // sentencepiece starts from FLT_MIN (the smallest positive float), not
        // from -FLT_MAX; user-defined pieces are priced from this value.
        let mut max_normal_score = f32::MIN_POSITIVE;
        let mut longest_piece_bytes = 0;
        for (index, piece) in proto.pieces.iter().enumerate() {
            let id = u32::try_from(index).map_err(|_| parse_error("too many pieces".to_owned()))?;
            if piece.text.is_empty() {
                return Err(parse_error(format!("piece {id} is empty")));
            }
            let table = match piece.kind {
                PieceType::Normal | PieceType::UserDefined | PieceType::Unused => {
                    longest_piece_bytes = longest_piece_bytes.max(piece.text.len());
                    &mut segmentable
                }
                PieceType::Unknown | PieceType::Control | PieceType::Byte => &mut reserved,
            };
            if table.insert(piece.text.clone(), id).is_some() {
                return Err(parse_error(format!(
                    "piece {:?} is defined twice",
                    piece.text
                )));
            }
            match piece.kind {
                PieceType::Unknown if unk_id.replace(id).is_some() => {
                    return Err(parse_error("more than one unknown piece".to_owned()));
                }
                PieceType::Normal => {
                    min_normal_score = min_normal_score.min(piece.score);
                    max_normal_score = max_normal_score.max(piece.score);
                }
                _ => {}
            }
        }
        let unk_id =
            unk_id.ok_or_else(|| parse_error("the model has no unknown piece".to_owned()))?;
        let user_defined: Vec<String> = proto
            .pieces
            .iter()
            .filter(|piece| piece.kind == PieceType::UserDefined)
            .map(|piece| piece.text.clone())
            .collect();
        let normalizer = Normalizer::new(
            &proto.normalizer,
            user_defined,
            proto.trainer.treat_whitespace_as_suffix,
        )
        .map_err(parse_error)?;
        let denormalizer = match &proto.denormalizer {
            Some(spec) if !spec.precompiled_charsmap.is_empty() => {
                Some(Normalizer::new(spec, Vec::new(), false).map_err(parse_error)?)
            }
            _ => None,
        };
        Ok(Self {
            source,
            pieces: proto.pieces,
            trainer: proto.trainer,
            normalizer_spec: proto.normalizer,
            normalizer,
            denormalizer,
            segmentable,
            reserved,
            longest_piece_bytes,
            unk_id,
            min_normal_score,
            max_normal_score,
        })
    }

    pub(crate) fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    #[cfg(test)]
    pub(crate) fn trainer_spec(&self) -> &TrainerSpec {
        &self.trainer
    }

    pub(crate) fn normalizer_spec(&self) -> &NormalizerSpec {
        &self.normalizer_spec
    }

    pub(crate) fn vocab_size(&self) -> usize {
        self.pieces.len()
    }

    /// Id of the unknown piece (taken from the piece types, as sentencepiece does).
    #[cfg(test)]
    pub(crate) fn unk_id(&self) -> u32 {
        self.unk_id
    }

    /// Id of a piece, or the unknown id when the model lacks it (`PieceToId`).
    pub(crate) fn piece_to_id(&self, piece: &str) -> u32 {
        self.segmentable
            .get(piece)
            .or_else(|| self.reserved.get(piece))
            .copied()
            .unwrap_or(self.unk_id)
    }

    /// The piece with this id, if there is one.
    pub(crate) fn id_to_piece(&self, id: u32) -> Option<&str> {
        self.pieces
            .get(id as usize)
            .map(|piece| piece.text.as_str())
    }

    fn piece_type(&self, id: u32) -> Option<PieceType> {
        self.pieces.get(id as usize).map(|piece| piece.kind)
    }

    /// The text the segmenter sees: sentencepiece's normalization, with
    /// spaces written as `▁` when the model escapes whitespace.
    pub(crate) fn normalize(&self, text: &str) -> String {
        self.normalizer.normalize(text)
    }

    /// Segments `text` into pieces with their ids, exactly as
    /// `SentencePieceProcessor.encode(text, out_type=str)` and
    /// `encode(text)` do (unknown stretches keep their surface text and get
    /// the unknown id, or become `<0xXX>` pieces with byte fallback).
    pub(crate) fn encode(&self, text: &str) -> Vec<(String, u32)> {
        let normalized = self.normalize(text);
        let mut spans: Vec<(usize, usize, u32)> = Vec::new();
        for (start, end, id) in self.viterbi(&normalized) {
            // sentencepiece reports a run of unknown characters as one piece.
            match spans.last_mut() {
                Some(last) if id == self.unk_id && last.2 == self.unk_id => last.1 = end,
                _ => spans.push((start, end, id)),
            }
        }
        let mut out = Vec::new();
        for (start, end, id) in spans {
            let surface = &normalized[start..end];
            if id == self.unk_id && self.trainer.byte_fallback {
                for byte in surface.bytes() {
                    let piece = byte_piece(byte);
                    let byte_id = self.piece_to_id(&piece);
                    out.push((piece, byte_id));
                }
            } else {
                out.push((surface.to_owned(), id));
            }
        }
        out
    }

    /// The pieces of [`Self::encode`] without their ids.
    pub(crate) fn encode_pieces(&self, text: &str) -> Vec<String> {
        self.encode(text)
            .into_iter()
            .map(|(piece, _)| piece)
            .collect()
    }

    /// The ids of [`Self::encode`].
    #[cfg(test)]
    pub(crate) fn encode_ids(&self, text: &str) -> Vec<u32> {
        self.encode(text).into_iter().map(|(_, id)| id).collect()
    }

    /// sentencepiece's `EncodeOptimized`: best-scoring segmentation of the
    /// normalized text as (byte start, byte end, id) spans. Scores are summed
    /// in `f32` like the C++ code, so ties and rounding break the same way.
    fn viterbi(&self, normalized: &str) -> Vec<(usize, usize, u32)> {
        #[derive(Clone, Copy)]
        struct Best {
            id: u32,
            score: f32,
            starts_at: Option<usize>,
        }
        let size = normalized.len();
        if size == 0 {
            return Vec::new();
        }
        let unk_score = self.min_normal_score - UNKNOWN_PENALTY;
        let mut best = vec![
            Best {
                id: self.unk_id,
                score: 0.0,
                starts_at: None,
            };
            size + 1
        ];
        let char_starts: Vec<usize> = normalized.char_indices().map(|(at, _)| at).collect();
        for (char_index, &starts_at) in char_starts.iter().enumerate() {
            let score_so_far = best[starts_at].score;
            let first_char_end = char_starts.get(char_index + 1).copied().unwrap_or(size);
            let mut has_single_char_piece = false;
            for &ends_at in char_starts[char_index + 1..]
                .iter()
                .chain(std::iter::once(&size))
            {
                let length = ends_at - starts_at;
                if length > self.longest_piece_bytes {
                    break;
                }
                let Some(&id) = self.segmentable.get(&normalized[starts_at..ends_at]) else {
                    continue;
                };
                let kind = self.piece_type(id);
                if kind == Some(PieceType::Unused) {
                    continue;
                }
                let target = &mut best[ends_at];
                if kind == Some(PieceType::UserDefined) {
                    // The C++ code computes this bonus in double precision.
                    let bonus = (length as f32 * self.max_normal_score) as f64 - 0.1;
                    let candidate = bonus + score_so_far as f64;
                    if target.starts_at.is_none() || candidate > target.score as f64 {
                        *target = Best {
                            id,
                            score: candidate as f32,
                            starts_at: Some(starts_at),
                        };
                    }
                } else {
                    let score = self.pieces[id as usize].score;
                    let candidate = score + score_so_far;
                    if target.starts_at.is_none() || candidate > target.score {
                        *target = Best {
                            id,
                            score: candidate,
                            starts_at: Some(starts_at),
                        };
                    }
                }
                if ends_at == first_char_end {
                    has_single_char_piece = true;
                }
            }
            if !has_single_char_piece {
                let target = &mut best[first_char_end];
                let candidate = unk_score + score_so_far;
                if target.starts_at.is_none() || candidate > target.score {
                    *target = Best {
                        id: self.unk_id,
                        score: candidate,
                        starts_at: Some(starts_at),
                    };
                }
            }
        }
        let mut spans = Vec::new();
        let mut ends_at = size;
        while ends_at > 0 {
            let node = best[ends_at];
            // Every character start gets a node (a piece or the unknown
            // fallback), so the chain always reaches 0; stop rather than loop if not.
            let Some(starts_at) = node.starts_at else {
                break;
            };
            spans.push((starts_at, ends_at, node.id));
            ends_at = starts_at;
        }
        spans.reverse();
        spans
    }

    /// Joins pieces back into text as sentencepiece's `decode_pieces` does:
    /// control pieces vanish, `<unk>` becomes the unknown surface, pieces the
    /// model does not know are copied verbatim, runs of `<0xXX>` byte pieces
    /// become UTF-8 text, `▁` becomes a space and the dummy-prefix space of
    /// the first piece is dropped.
    pub(crate) fn decode_pieces<S: AsRef<str>>(&self, pieces: &[S]) -> String {
        let space = SPACE_SYMBOL.to_string();
        let strip_leading_space =
            self.normalizer_spec.add_dummy_prefix || self.normalizer_spec.remove_extra_whitespaces;
        let mut text = String::new();
        let mut pending_bytes: Vec<u8> = Vec::new();
        let mut at_sentence_start = true;
        let mut consumed_start_space = false;
        for piece in pieces {
            let piece = piece.as_ref();
            let id = self.piece_to_id(piece);
            if self.piece_type(id) == Some(PieceType::Byte) {
                if let Some(byte) = piece_to_byte(piece) {
                    pending_bytes.push(byte);
                    continue;
                }
            }
            flush_bytes(&mut pending_bytes, &mut text);
            if at_sentence_start && (consumed_start_space || !text.is_empty()) {
                at_sentence_start = false;
            }
            let surface = match self.piece_type(id) {
                Some(PieceType::Control) => String::new(),
                Some(PieceType::Unknown) => {
                    if self.id_to_piece(id) == Some(piece) {
                        self.trainer.unk_surface.clone()
                    } else {
                        piece.to_owned()
                    }
                }
                _ => {
                    let mut rest = piece;
                    if at_sentence_start && strip_leading_space {
                        if let Some(stripped) = rest.strip_prefix(SPACE_SYMBOL) {
                            rest = stripped;
                            consumed_start_space = !self.normalizer_spec.remove_extra_whitespaces;
                        }
                    }
                    rest.replace(space.as_str(), " ")
                }
            };
            text.push_str(&surface);
        }
        flush_bytes(&mut pending_bytes, &mut text);
        match &self.denormalizer {
            Some(denormalizer) => denormalizer.normalize(&text),
            None => text,
        }
    }

    /// Decodes ids (see [`Self::decode_pieces`]); ids outside the vocabulary are skipped.
    #[cfg(test)]
    pub(crate) fn decode_ids(&self, ids: &[u32]) -> String {
        let pieces: Vec<&str> = ids.iter().filter_map(|&id| self.id_to_piece(id)).collect();
        self.decode_pieces(&pieces)
    }

    /// Builds a `tokenizers` pipeline equivalent to this model, in the way
    /// transformers' `SpmConverter` does: a Unigram model with these scores,
    /// the `Precompiled` normalizer from the charsmap, sentencepiece's
    /// whitespace handling, a Metaspace decoder, and control / user-defined
    /// pieces registered as added tokens (so `</s>` typed in text is one
    /// token, as in transformers' fast tokenizers).
    ///
    /// Its pieces equal [`Self::encode`]'s for ordinary text. Known
    /// differences come from `tokenizers`' `Precompiled` normalizer, which
    /// looks up whole grapheme clusters instead of sentencepiece's longest
    /// byte-prefix match (decomposed Bengali vowel signs, for one, are not
    /// recomposed), and from user-defined pieces being matched before
    /// normalization. Prefer [`Self::encode`] where exactness matters.
    #[cfg(test)]
    pub(crate) fn to_tokenizer(&self) -> Result<Tokenizer, SpmError> {
        if self.trainer.treat_whitespace_as_suffix {
            // tokenizers has no normalizer or decoder that puts the space
            // symbol after words; encode() handles such models natively.
            return Err(SpmError::UnsupportedFeature {
                path: self.source.clone(),
                feature: "treat_whitespace_as_suffix",
            });
        }
        let tokenizers_error = |source: tokenizers::Error| SpmError::Tokenizers {
            path: self.source.clone(),
            source,
        };
        // sentencepiece gives a user-defined piece a score of about -0.1
        // (its length times the best normal score, floored at FLT_MIN, minus
        // 0.1) so that it always wins; a fixed score does the same here.
        let vocab: Vec<(String, f64)> = self
            .pieces
            .iter()
            .map(|piece| {
                let score = if piece.kind == PieceType::UserDefined {
                    (piece.text.len() as f32 * self.max_normal_score) as f64 - 0.1
                } else {
                    f64::from(piece.score)
                };
                (piece.text.clone(), score)
            })
            .collect();
        let model = Unigram::from(
            vocab,
            Some(self.unk_id as usize),
            self.trainer.byte_fallback,
        )
        .map_err(tokenizers_error)?;
        let mut tokenizer = Tokenizer::new(model);

        let spec = &self.normalizer_spec;
        let mut steps: Vec<NormalizerWrapper> = Vec::new();
        if !spec.precompiled_charsmap.is_empty() {
            let precompiled = Precompiled::from(&spec.precompiled_charsmap)
                .map_err(|error| tokenizers_error(Box::new(error)))?;
            steps.push(precompiled.into());
        }
        let regex_replace = |pattern: &str, content: &str| {
            Replace::new(ReplacePattern::Regex(pattern.to_owned()), content)
                .map(NormalizerWrapper::from)
                .map_err(tokenizers_error)
        };
        if spec.remove_extra_whitespaces {
            // sentencepiece only treats U+0020 (after the charsmap) as space here.
            steps.push(regex_replace("^ +| +$", "")?);
            steps.push(regex_replace(" {2,}", " ")?);
        }
        if spec.escape_whitespaces {
            steps.push(regex_replace(" ", &SPACE_SYMBOL.to_string())?);
        }
        if spec.add_dummy_prefix {
            let dummy = if spec.escape_whitespaces {
                SPACE_SYMBOL.to_string()
            } else {
                " ".to_owned()
            };
            steps.push(Prepend::new(dummy).into());
        }
        tokenizer
            .with_normalizer(Some(NormalizerSequence::new(steps)))
            .map_err(tokenizers_error)?;

        let prepend_scheme = if spec.add_dummy_prefix {
            PrependScheme::Always
        } else {
            PrependScheme::Never
        };
        let metaspace: DecoderWrapper =
            MetaspaceDecoder::new(SPACE_SYMBOL, prepend_scheme, true).into();
        // sentencepiece shows `<unk>` as its unknown surface (" ⁇ ") when decoding.
        let unk_piece = self.pieces[self.unk_id as usize].text.clone();
        let unknown_surface =
            Replace::new(unk_piece, self.trainer.unk_surface.clone()).map_err(tokenizers_error)?;
        let mut decoders: Vec<DecoderWrapper> = vec![unknown_surface.into()];
        if self.trainer.byte_fallback {
            decoders.push(ByteFallback::new().into());
        }
        decoders.push(metaspace);
        let decoder = DecoderSequence::new(decoders);
        tokenizer.with_decoder(Some(decoder));

        let added: Vec<AddedToken> = self
            .pieces
            .iter()
            .filter(|piece| piece.kind == PieceType::Control)
            .map(|piece| AddedToken::from(piece.text.clone(), true).normalized(false))
            .collect();
        tokenizer.add_tokens(added).map_err(tokenizers_error)?;
        Ok(tokenizer)
    }
}

fn byte_piece(byte: u8) -> String {
    format!("<0x{byte:02X}>")
}

fn piece_to_byte(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

/// Appends byte-fallback bytes as text; invalid sequences become U+FFFD one
/// byte at a time, as sentencepiece does.
fn flush_bytes(bytes: &mut Vec<u8>, text: &mut String) {
    let mut rest: &[u8] = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                text.push_str(valid);
                break;
            }
            Err(error) => {
                let valid_up_to = error.valid_up_to();
                // valid_up_to marks a prefix that is valid UTF-8 by definition.
                text.push_str(std::str::from_utf8(&rest[..valid_up_to]).unwrap_or_default());
                text.push('\u{FFFD}');
                rest = &rest[valid_up_to + 1..];
            }
        }
    }
    bytes.clear();
}

/// sentencepiece's `normalizer::Normalizer` for one `NormalizerSpec`.
#[derive(Debug, Clone)]
struct Normalizer {
    charsmap: Option<CharsMap>,
    /// User-defined pieces, copied through unnormalized (longest match wins).
    user_defined: Vec<String>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
    treat_whitespace_as_suffix: bool,
}

impl Normalizer {
    fn new(
        spec: &NormalizerSpec,
        user_defined: Vec<String>,
        treat_whitespace_as_suffix: bool,
    ) -> Result<Self, String> {
        let charsmap = if spec.precompiled_charsmap.is_empty() {
            None
        } else {
            Some(CharsMap::parse(&spec.precompiled_charsmap)?)
        };
        Ok(Self {
            charsmap,
            user_defined,
            add_dummy_prefix: spec.add_dummy_prefix,
            remove_extra_whitespaces: spec.remove_extra_whitespaces,
            escape_whitespaces: spec.escape_whitespaces,
            treat_whitespace_as_suffix,
        })
    }

    /// Normalized form of the first unit of `input` and how many bytes it consumed.
    fn normalize_prefix<'a>(&'a self, input: &'a str) -> (&'a str, usize) {
        let user_match = self
            .user_defined
            .iter()
            .filter(|piece| input.starts_with(piece.as_str()))
            .map(String::len)
            .max();
        if let Some(length) = user_match {
            return (&input[..length], length);
        }
        if let Some((replacement, length)) = self
            .charsmap
            .as_ref()
            .and_then(|charsmap| charsmap.longest_match(input.as_bytes()))
        {
            // A rule ending inside a character would split it; sentencepiece's
            // compiled maps never do that, but fall back to one character if one does.
            if input.is_char_boundary(length) {
                return (replacement, length);
            }
        }
        let length = input.chars().next().map_or(0, char::len_utf8);
        (&input[..length], length)
    }

    fn normalize(&self, text: &str) -> String {
        let mut input = text;
        if self.remove_extra_whitespaces {
            while !input.is_empty() {
                let (normalized, consumed) = self.normalize_prefix(input);
                if normalized != " " || consumed == 0 {
                    break;
                }
                input = &input[consumed..];
            }
        }
        let mut out = String::with_capacity(input.len() * 3);
        if input.is_empty() {
            return out;
        }
        let space = if self.escape_whitespaces {
            SPACE_SYMBOL.to_string()
        } else {
            " ".to_owned()
        };
        if !self.treat_whitespace_as_suffix && self.add_dummy_prefix {
            out.push_str(&space);
        }
        let mut previous_was_space = self.remove_extra_whitespaces;
        while !input.is_empty() {
            let (normalized, consumed) = self.normalize_prefix(input);
            if consumed == 0 {
                break;
            }
            let mut piece = normalized;
            if previous_was_space {
                piece = piece.trim_start_matches(' ');
            }
            if !piece.is_empty() {
                for ch in piece.chars() {
                    if ch == ' ' && self.escape_whitespaces {
                        out.push(SPACE_SYMBOL);
                    } else {
                        out.push(ch);
                    }
                }
                previous_was_space = piece.ends_with(' ');
            }
            input = &input[consumed..];
            if !self.remove_extra_whitespaces {
                previous_was_space = false;
            }
        }
        if self.remove_extra_whitespaces {
            while out.ends_with(space.as_str()) {
                out.truncate(out.len() - space.len());
            }
        }
        if self.treat_whitespace_as_suffix && self.add_dummy_prefix {
            out.push_str(&space);
        }
        out
    }
}

/// A precompiled character map: a Darts double-array trie over UTF-8 input
/// whose leaf values are offsets of NUL-terminated replacements.
#[derive(Debug, Clone)]
struct CharsMap {
    units: Vec<u32>,
    replacements: Vec<u8>,
}

impl CharsMap {
    fn parse(blob: &[u8]) -> Result<Self, String> {
        let header: [u8; 4] = blob
            .get(..4)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or("precompiled charsmap is shorter than its header")?;
        let trie_size = u32::from_le_bytes(header) as usize;
        let rest = &blob[4..];
        if trie_size > rest.len() || !trie_size.is_multiple_of(4) {
            return Err(format!(
                "precompiled charsmap declares a {trie_size}-byte trie in {} bytes",
                rest.len()
            ));
        }
        let units = rest[..trie_size]
            .chunks_exact(4)
            .map(|chunk| u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
            .collect();
        Ok(Self {
            units,
            replacements: rest[trie_size..].to_vec(),
        })
    }

    /// Longest rule matching a prefix of `input`: (replacement, matched bytes).
    fn longest_match(&self, input: &[u8]) -> Option<(&str, usize)> {
        let unit_at = |index: usize| self.units.get(index).copied();
        let offset = |unit: u32| ((unit >> 10) << ((unit & (1 << 9)) >> 6)) as usize;
        let has_leaf = |unit: u32| (unit >> 8) & 1 == 1;
        let label = |unit: u32| unit & ((1 << 31) | 0xFF);
        let value = |unit: u32| (unit & ((1 << 31) - 1)) as usize;

        let mut node = offset(unit_at(0)?);
        let mut longest = None;
        for (index, &byte) in input.iter().enumerate() {
            node ^= byte as usize;
            let Some(unit) = unit_at(node) else {
                break;
            };
            if label(unit) != byte as u32 {
                break;
            }
            node ^= offset(unit);
            if has_leaf(unit) {
                if let Some(leaf) = unit_at(node) {
                    longest = Some((value(leaf), index + 1));
                }
            }
        }
        let (start, length) = longest?;
        let tail = self.replacements.get(start..)?;
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        let replacement = std::str::from_utf8(&tail[..end]).ok()?;
        Some((replacement, length))
    }
}

/// What `parse_model_proto` extracts from a `ModelProto`.
struct ModelProto {
    pieces: Vec<Piece>,
    trainer: TrainerSpec,
    normalizer: NormalizerSpec,
    denormalizer: Option<NormalizerSpec>,
}

/// One protobuf field value, by wire type.
enum WireValue<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Reader for the protobuf wire format, enough for sentencepiece models.
struct ProtoReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> ProtoReader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .buf
                .get(self.pos)
                .ok_or("truncated varint at end of message")?;
            self.pos += 1;
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".to_owned())
    }

    fn take(&mut self, length: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(length)
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| format!("field of {length} bytes runs past the end of the message"))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn next_field(&mut self) -> Result<Option<(u64, WireValue<'a>)>, String> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = key >> 3;
        let value = match key & 7 {
            0 => WireValue::Varint(self.varint()?),
            1 => {
                // No field this reader keeps is a 64-bit fixed value.
                self.take(8)?;
                WireValue::Fixed64
            }
            2 => {
                let length = usize::try_from(self.varint()?)
                    .map_err(|_| "length-delimited field too long".to_owned())?;
                WireValue::Bytes(self.take(length)?)
            }
            5 => {
                let bytes = self.take(4)?;
                WireValue::Fixed32(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
            }
            other => return Err(format!("unsupported wire type {other} for field {field}")),
        };
        Ok(Some((field, value)))
    }
}

fn expect_bytes<'a>(value: WireValue<'a>, what: &str) -> Result<&'a [u8], String> {
    match value {
        WireValue::Bytes(bytes) => Ok(bytes),
        _ => Err(format!("{what} has the wrong wire type")),
    }
}

fn expect_string(value: WireValue<'_>, what: &str) -> Result<String, String> {
    let bytes = expect_bytes(value, what)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not valid UTF-8"))
}

fn expect_varint(value: WireValue<'_>, what: &str) -> Result<u64, String> {
    match value {
        WireValue::Varint(number) => Ok(number),
        _ => Err(format!("{what} has the wrong wire type")),
    }
}

/// Protobuf `int32`: negative values are sign-extended to 64 bits on the wire.
fn expect_int32(value: WireValue<'_>, what: &str) -> Result<i32, String> {
    Ok(expect_varint(value, what)? as i64 as i32)
}

fn expect_bool(value: WireValue<'_>, what: &str) -> Result<bool, String> {
    Ok(expect_varint(value, what)? != 0)
}

fn expect_float(value: WireValue<'_>, what: &str) -> Result<f32, String> {
    match value {
        WireValue::Fixed32(bits) => Ok(f32::from_bits(bits)),
        _ => Err(format!("{what} has the wrong wire type")),
    }
}

fn parse_model_proto(bytes: &[u8]) -> Result<ModelProto, String> {
    let mut reader = ProtoReader::new(bytes);
    let mut pieces = Vec::new();
    let mut trainer = TrainerSpec::default();
    let mut normalizer = NormalizerSpec::default();
    let mut denormalizer = None;
    while let Some((field, value)) = reader.next_field()? {
        match field {
            1 => pieces.push(parse_piece(expect_bytes(value, "piece")?)?),
            // Repeated occurrences of a message field merge, as in protobuf.
            2 => parse_trainer_spec(expect_bytes(value, "trainer_spec")?, &mut trainer)?,
            3 => parse_normalizer_spec(expect_bytes(value, "normalizer_spec")?, &mut normalizer)?,
            5 => parse_normalizer_spec(
                expect_bytes(value, "denormalizer_spec")?,
                denormalizer.get_or_insert_with(NormalizerSpec::default),
            )?,
            _ => {}
        }
    }
    Ok(ModelProto {
        pieces,
        trainer,
        normalizer,
        denormalizer,
    })
}

fn parse_piece(bytes: &[u8]) -> Result<Piece, String> {
    let mut reader = ProtoReader::new(bytes);
    let mut piece = Piece {
        text: String::new(),
        score: 0.0,
        kind: PieceType::Normal,
    };
    while let Some((field, value)) = reader.next_field()? {
        match field {
            1 => piece.text = expect_string(value, "piece text")?,
            2 => piece.score = expect_float(value, "piece score")?,
            3 => piece.kind = PieceType::from_proto(expect_int32(value, "piece type")?)?,
            _ => {}
        }
    }
    Ok(piece)
}

fn parse_trainer_spec(bytes: &[u8], spec: &mut TrainerSpec) -> Result<(), String> {
    let mut reader = ProtoReader::new(bytes);
    while let Some((field, value)) = reader.next_field()? {
        match field {
            3 => spec.model_type = ModelType::from_proto(expect_int32(value, "model_type")?),
            4 => spec.vocab_size = expect_int32(value, "vocab_size")?,
            24 => {
                spec.treat_whitespace_as_suffix = expect_bool(value, "treat_whitespace_as_suffix")?
            }
            35 => spec.byte_fallback = expect_bool(value, "byte_fallback")?,
            40 => spec.unk_id = expect_int32(value, "unk_id")?,
            41 => spec.bos_id = expect_int32(value, "bos_id")?,
            42 => spec.eos_id = expect_int32(value, "eos_id")?,
            43 => spec.pad_id = expect_int32(value, "pad_id")?,
            44 => spec.unk_surface = expect_string(value, "unk_surface")?,
            45 => spec.unk_piece = expect_string(value, "unk_piece")?,
            46 => spec.bos_piece = expect_string(value, "bos_piece")?,
            47 => spec.eos_piece = expect_string(value, "eos_piece")?,
            48 => spec.pad_piece = expect_string(value, "pad_piece")?,
            _ => {}
        }
    }
    Ok(())
}

fn parse_normalizer_spec(bytes: &[u8], spec: &mut NormalizerSpec) -> Result<(), String> {
    let mut reader = ProtoReader::new(bytes);
    while let Some((field, value)) = reader.next_field()? {
        match field {
            1 => spec.name = expect_string(value, "normalizer name")?,
            2 => spec.precompiled_charsmap = expect_bytes(value, "precompiled_charsmap")?.to_vec(),
            3 => spec.add_dummy_prefix = expect_bool(value, "add_dummy_prefix")?,
            4 => spec.remove_extra_whitespaces = expect_bool(value, "remove_extra_whitespaces")?,
            5 => spec.escape_whitespaces = expect_bool(value, "escape_whitespaces")?,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    fn fixture_path(file: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/marian-tiny")
            .join(file)
    }

    fn fixture_model() -> SentencePieceModel {
        SentencePieceModel::from_file(&fixture_path("source.spm"))
            .expect("fixture source.spm loads")
    }

    /// Serializes a minimal ModelProto so tests can use features the
    /// fixture model lacks (byte fallback, user-defined pieces).
    fn encode_model(pieces: &[(&str, f32, i32)], byte_fallback: bool) -> Vec<u8> {
        fn key(field: u64, wire: u64, out: &mut Vec<u8>) {
            varint(field << 3 | wire, out);
        }
        fn varint(mut value: u64, out: &mut Vec<u8>) {
            while value >= 0x80 {
                out.push((value as u8) | 0x80);
                value >>= 7;
            }
            out.push(value as u8);
        }
        fn bytes_field(field: u64, bytes: &[u8], out: &mut Vec<u8>) {
            key(field, 2, out);
            varint(bytes.len() as u64, out);
            out.extend_from_slice(bytes);
        }
        let mut model = Vec::new();
        for &(text, score, kind) in pieces {
            let mut piece = Vec::new();
            bytes_field(1, text.as_bytes(), &mut piece);
            key(2, 5, &mut piece);
            piece.extend_from_slice(&score.to_le_bytes());
            key(3, 0, &mut piece);
            varint(kind as u64, &mut piece);
            bytes_field(1, &piece, &mut model);
        }
        let mut trainer = Vec::new();
        key(3, 0, &mut trainer);
        varint(1, &mut trainer);
        key(35, 0, &mut trainer);
        varint(u64::from(byte_fallback), &mut trainer);
        bytes_field(2, &trainer, &mut model);
        let mut normalizer = Vec::new();
        bytes_field(1, b"identity", &mut normalizer);
        bytes_field(3, &normalizer, &mut model);
        model
    }

    fn tiny_model(byte_fallback: bool) -> SentencePieceModel {
        let mut pieces = vec![
            ("<unk>", 0.0, 2),
            ("<s>", 0.0, 3),
            ("</s>", 0.0, 3),
            ("\u{2581}", -2.0, 1),
            ("a", -3.0, 1),
            ("b", -3.0, 1),
            ("\u{2581}ab", -1.0, 1),
            ("xy", 0.0, 4),
        ];
        let byte_pieces: Vec<String> = (0..=255u8).map(byte_piece).collect();
        if byte_fallback {
            pieces.extend(byte_pieces.iter().map(|piece| (piece.as_str(), 0.0, 6)));
        }
        SentencePieceModel::from_bytes(&encode_model(&pieces, byte_fallback))
            .expect("hand-built model parses")
    }

    #[test]
    fn reads_the_fixture_model_header() {
        let model = fixture_model();
        assert_eq!(model.trainer_spec().model_type, ModelType::Unigram);
        assert_eq!(model.normalizer_spec().name, "nmt_nfkc");
        assert!(model.normalizer_spec().add_dummy_prefix);
        assert!(model.vocab_size() > 100);
        assert_eq!(
            model.id_to_piece(model.unk_id()),
            Some(model.trainer_spec().unk_piece.as_str())
        );
        for (id, piece) in model.pieces().iter().enumerate() {
            assert_eq!(model.piece_to_id(&piece.text) as usize, id);
        }
        assert_eq!(model.piece_to_id("no such piece"), model.unk_id());
    }

    #[test]
    fn decomposed_bengali_encodes_like_composed() {
        let model = fixture_model();
        // ো written as ে + া, and ড় (U+09DC, which NFC leaves decomposed)
        // precomposed: nmt_nfkc maps both spellings to one.
        let pairs = [
            ("কোরিয়া মস্কো", "কোরিয়া মস্কো".nfd().collect::<String>()),
            ("ক\u{9C7}\u{9BE}", "কো".to_owned()),
            ("প\u{9DC}ে", "প\u{9A1}\u{9BC}ে".to_owned()),
        ];
        for (one, other) in pairs {
            assert_ne!(one, other);
            assert_eq!(model.encode(one), model.encode(&other), "{one}");
        }
    }

    #[test]
    fn extra_whitespace_is_ignored() {
        let model = fixture_model();
        let plain = model.encode("আজ ঢাকায়");
        assert_eq!(model.encode("আজ  ঢাকায়"), plain);
        assert_eq!(model.encode("   আজ ঢাকায়  "), plain);
        assert_eq!(model.encode("আজ\tঢাকায়"), plain);
        assert!(model.encode("").is_empty());
        assert!(model.encode(" \t ").is_empty());
    }

    #[test]
    fn a_run_of_unknown_characters_is_one_unknown_piece() {
        let model = fixture_model();
        let encoded = model.encode("中文 আর");
        let unknown: Vec<&(String, u32)> = encoded
            .iter()
            .filter(|(_, id)| *id == model.unk_id())
            .collect();
        assert_eq!(unknown, [&("中文".to_owned(), model.unk_id())]);
    }

    #[test]
    fn decoding_pieces_restores_normalized_text() {
        let model = fixture_model();
        let text = "কেসিএনএ জানিয়েছে, ‘উত্তর কোরিয়া রাশিয়ান ফেডারেশনের মতো শক্তিশালী।’";
        assert_eq!(model.decode_pieces(&model.encode_pieces(text)), text);
        assert_eq!(model.decode_ids(&model.encode_ids(text)), text);
    }

    #[test]
    fn to_tokenizer_agrees_with_native_encoding_on_nfc_text() {
        let model = fixture_model();
        let tokenizer = model.to_tokenizer().expect("tokenizer builds");
        for text in [
            "ইউক্রেন যুদ্ধে রাশিয়ার পক্ষে সেনা পাঠাতে প্রস্তুত কিম",
            "  আজ  ঢাকায়   বৃষ্টি হয়েছে।  ",
            "০১:২৮:৩১ অপরাহ্ন, ১৩ জুলাই ২০২৫",
            "ভালো খবর 😀 আজ 中文",
            "ＡＢＣ ｆｕｌｌ ｗｉｄｔｈ",
            "",
        ] {
            let encoding = tokenizer.encode(text, false).expect("encodes");
            assert_eq!(encoding.get_tokens(), model.encode_pieces(text), "{text:?}");
            assert_eq!(encoding.get_ids(), model.encode_ids(text), "{text:?}");
            let decoded = tokenizer
                .decode(encoding.get_ids(), false)
                .expect("decodes");
            assert_eq!(decoded, model.decode_ids(encoding.get_ids()), "{text:?}");
        }
    }

    #[test]
    fn byte_fallback_spells_unknown_characters_as_bytes() {
        let model = tiny_model(true);
        let encoded = model.encode_pieces("ab é");
        assert_eq!(encoded, ["\u{2581}ab", "\u{2581}", "<0xC3>", "<0xA9>"]);
        assert_eq!(model.decode_pieces(&encoded), "ab é");
        let tokenizer = model.to_tokenizer().expect("tokenizer builds");
        let ids = model.encode_ids("ab é");
        assert_eq!(tokenizer.decode(&ids, false).expect("decodes"), "ab é");
    }

    #[test]
    fn without_byte_fallback_unknown_text_keeps_its_surface() {
        let model = tiny_model(false);
        assert_eq!(
            model.encode("ab é"),
            [
                ("\u{2581}ab".to_owned(), 6),
                ("\u{2581}".to_owned(), 3),
                ("é".to_owned(), 0)
            ]
        );
        assert_eq!(
            model.decode_pieces(&["\u{2581}ab", "<unk>", "</s>"]),
            "ab \u{2047} "
        );
        // Pieces the model does not know are copied verbatim, `▁` included.
        assert_eq!(
            model.decode_pieces(&["\u{2581}ab", "\u{2581}zz"]),
            "ab\u{2581}zz"
        );
    }

    #[test]
    fn user_defined_pieces_always_win() {
        let model = tiny_model(false);
        // "xy" is user-defined: kept whole even though x and y are unknown alone.
        assert_eq!(model.encode_pieces("axy"), ["\u{2581}", "a", "xy"]);
    }

    #[test]
    fn missing_file_error_names_the_path() {
        let path = fixture_path("does-not-exist.spm");
        let error = SentencePieceModel::from_file(&path).expect_err("missing file fails");
        assert!(matches!(error, SpmError::Io { .. }));
        assert!(error.to_string().contains("does-not-exist.spm"));
    }

    #[test]
    fn truncated_or_garbage_bytes_fail_without_panicking() {
        let bytes = std::fs::read(fixture_path("source.spm")).expect("fixture readable");
        for cut in (1..bytes.len()).step_by(997) {
            let _ = SentencePieceModel::from_bytes(&bytes[..cut]);
        }
        assert!(matches!(
            SentencePieceModel::from_bytes(&bytes[..1]),
            Err(SpmError::Parse { .. })
        ));
        assert!(SentencePieceModel::from_bytes(&[0xFF; 64]).is_err());
        assert!(SentencePieceModel::from_bytes(&[]).is_err());
    }

    #[test]
    fn non_unigram_models_are_rejected_with_their_type() {
        let mut bytes = std::fs::read(fixture_path("source.spm")).expect("fixture readable");
        // A second trainer_spec merges into the first: model_type = BPE (2).
        bytes.extend_from_slice(&[0x12, 0x02, 0x18, 0x02]);
        let error = SentencePieceModel::from_bytes(&bytes).expect_err("BPE is unsupported");
        assert!(matches!(
            error,
            SpmError::UnsupportedModelType {
                model_type: ModelType::Bpe,
                ..
            }
        ));
    }
}
