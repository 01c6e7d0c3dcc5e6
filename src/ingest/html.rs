//! Turns an HTML news page into the story's text and metadata hints.
//!
//! The page is parsed with `scraper` (html5ever, the HTML5 parsing algorithm
//! browsers use), so broken markup, entities and implied tags are handled
//! the way a browser would. Main content is found in the spirit of
//! readability: boilerplate (scripts, navigation, share bars, comments,
//! related-story lists, ads, cookie banners…) is set aside, then an
//! `<article>` / `[itemprop=articleBody]` / `<main>` is preferred when it
//! holds the bulk of the page's prose, else the element whose paragraphs
//! score highest (Bengali text weighted up, link text not counted).
//!
//! The text has one block per line (paragraph, heading, list item, caption,
//! blockquote line), in document order. If the chosen content has no `<h1>`
//! but one sits just above it (within the content's great-grandparent), that
//! headline becomes the first line, so the text starts with the headline
//! whichever way the content was found. In an article's own `<header>` only
//! headings are kept (kicker, byline and date lines are metadata). Figure
//! captions are kept: the story extractor decides about them.
//!
//! Metadata comes from Open Graph / `article:*` meta tags, JSON-LD
//! (`@graph` included), `<time datetime>` and microdata, and is returned as
//! [`PageHints`] for the story extractor to weigh against the text.
//!
//! Nothing here recurses over the document, so deeply nested tag soup cannot
//! overflow the stack, and every pass here is linear in the size of the DOM.
//! html5ever's own parse is not: its scope checks walk the stack of open
//! elements, so a page of 100,000 unclosed `<blockquote>`s takes half a
//! minute. A real news page nests well under 100 deep, so the parse is
//! stopped as soon as an element lands deeper than [`MAX_NESTING_DEPTH`]
//! and the page is refused, naming the limit ([`NestedTooDeep`]).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, QualName};
use scraper::node::Element;
use scraper::{Html, HtmlTreeSink, Node};
use serde_json::{Map, Value};

use super::PageHints;

/// The main content of a page and what its markup says about the story.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HtmlPage {
    /// Main content, one block (paragraph, heading, list item, caption,
    /// blockquote line) per line, in document order; empty when the page has
    /// no body text.
    pub(crate) text: String,
    /// Title, dates, byline and credited source found in the markup.
    pub(crate) hints: PageHints,
}

/// Whether `text` starts like an HTML document or fragment rather than
/// plain text or Markdown: after a BOM and whitespace it must open with `<`,
/// and its first kilobyte must contain `<!doctype html`, `<html`, `<head`,
/// `<body` or a `<p>` tag.
pub(crate) fn looks_like_html(text: &str) -> bool {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if !trimmed.starts_with('<') {
        return false;
    }
    let mut end = trimmed.len().min(1024);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    let head = trimmed[..end].to_ascii_lowercase();
    const MARKERS: [&str; 4] = ["<!doctype html", "<html", "<head", "<body"];
    if MARKERS.iter().any(|marker| head.contains(marker)) {
        return true;
    }
    head.match_indices("<p").any(|(at, _)| {
        matches!(
            head.as_bytes().get(at + 2),
            Some(b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'/')
        )
    })
}

/// Parses `html` and returns its main-content text and metadata hints.
/// Never panics; a page without body text gives an empty `text`, a page
/// nested deeper than [`MAX_NESTING_DEPTH`] an error.
pub(crate) fn html_page(html: &str) -> Result<HtmlPage, NestedTooDeep> {
    let document = parse_bounded(html)?;
    let dom = FlatDom::new(&document);
    let marks = Marks::new(&dom);
    let lines = collect_lines(&dom, &marks);
    let content = choose_content(&dom, &marks, &lines);
    let text_lines = content_lines(&dom, &marks, &lines, content);
    let headline = text_lines.iter().find(|line| line.heading == Some(1));
    let hints = page_hints(&dom, &marks, content, headline.copied());
    let text = text_lines
        .iter()
        .map(|line| line.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    Ok(HtmlPage { text, hints })
}

// ---------------------------------------------------------------------------
// Parsing with a bound on nesting depth.

/// The deepest an element may sit in a page that is read. Real news pages
/// nest 20–60 deep; at this depth html5ever's scope checks still cost little
/// per element, so even a 20 MB page parses in about a second.
const MAX_NESTING_DEPTH: usize = 256;

/// Input handed to the parser at a time; the depth is checked between
/// pieces, so at most one piece is parsed past the limit.
const PARSE_PIECE_BYTES: usize = 16 * 1024;

/// A page whose elements nest deeper than any news page does: reading it
/// would take time quadratic in the depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "HTML nested more than {limit} elements deep (the limit for a page; news pages nest under 100)"
)]
pub(crate) struct NestedTooDeep {
    pub(crate) limit: usize,
}

/// `html` parsed as browsers do, stopped with an error once an element
/// lands deeper than [`MAX_NESTING_DEPTH`].
fn parse_bounded(html: &str) -> Result<Html, NestedTooDeep> {
    let too_deep = NestedTooDeep {
        limit: MAX_NESTING_DEPTH,
    };
    let mut parser = html5ever::parse_document(DepthSink::default(), Default::default());
    let mut rest = html;
    while !rest.is_empty() {
        let mut end = rest.len().min(PARSE_PIECE_BYTES);
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (piece, tail) = rest.split_at(end);
        parser.process(StrTendril::from_slice(piece));
        if parser.tokenizer.sink.sink.deepest.get() > MAX_NESTING_DEPTH {
            return Err(too_deep);
        }
        rest = tail;
    }
    Ok(parser.finish())
}

type Handle = <HtmlTreeSink as TreeSink>::Handle;

/// scraper's tree builder, also keeping the depth of every node it places.
/// Nodes moved by the adoption agency keep their first depth: the bound is
/// on how deep the parser has built, which is what its work grows with.
struct DepthSink {
    inner: HtmlTreeSink,
    depths: RefCell<HashMap<Handle, usize>>,
    deepest: Cell<usize>,
}

impl Default for DepthSink {
    fn default() -> Self {
        Self {
            inner: HtmlTreeSink::new(Html::new_document()),
            depths: RefCell::default(),
            deepest: Cell::new(0),
        }
    }
}

impl DepthSink {
    fn depth(&self, node: &Handle) -> usize {
        self.depths.borrow().get(node).copied().unwrap_or(0)
    }

    fn placed(&self, child: &NodeOrText<Handle>, depth: usize) {
        if let NodeOrText::AppendNode(node) = child {
            self.depths.borrow_mut().insert(*node, depth);
            self.deepest.set(self.deepest.get().max(depth));
        }
    }
}

impl TreeSink for DepthSink {
    type Handle = Handle;
    type Output = Html;
    type ElemName<'a> = <HtmlTreeSink as TreeSink>::ElemName<'a>;

    fn finish(self) -> Html {
        self.inner.finish()
    }

    fn parse_error(&self, msg: Cow<'static, str>) {
        self.inner.parse_error(msg)
    }

    fn get_document(&self) -> Handle {
        self.inner.get_document()
    }

    fn elem_name<'a>(&'a self, target: &'a Handle) -> Self::ElemName<'a> {
        self.inner.elem_name(target)
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> Handle {
        self.inner.create_element(name, attrs, flags)
    }

    fn create_comment(&self, text: StrTendril) -> Handle {
        self.inner.create_comment(text)
    }

    fn create_pi(&self, target: StrTendril, data: StrTendril) -> Handle {
        self.inner.create_pi(target, data)
    }

    fn append(&self, parent: &Handle, child: NodeOrText<Handle>) {
        self.placed(&child, self.depth(parent) + 1);
        self.inner.append(parent, child)
    }

    fn append_based_on_parent_node(
        &self,
        element: &Handle,
        prev_element: &Handle,
        child: NodeOrText<Handle>,
    ) {
        let depth = self.depth(element).max(self.depth(prev_element) + 1);
        self.placed(&child, depth);
        self.inner
            .append_based_on_parent_node(element, prev_element, child)
    }

    fn append_doctype_to_document(
        &self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        self.inner
            .append_doctype_to_document(name, public_id, system_id)
    }

    fn mark_script_already_started(&self, node: &Handle) {
        self.inner.mark_script_already_started(node)
    }

    fn pop(&self, node: &Handle) {
        self.inner.pop(node)
    }

    fn get_template_contents(&self, target: &Handle) -> Handle {
        self.inner.get_template_contents(target)
    }

    fn same_node(&self, x: &Handle, y: &Handle) -> bool {
        self.inner.same_node(x, y)
    }

    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.inner.set_quirks_mode(mode)
    }

    fn append_before_sibling(&self, sibling: &Handle, new_node: NodeOrText<Handle>) {
        self.placed(&new_node, self.depth(sibling));
        self.inner.append_before_sibling(sibling, new_node)
    }

    fn add_attrs_if_missing(&self, target: &Handle, attrs: Vec<Attribute>) {
        self.inner.add_attrs_if_missing(target, attrs)
    }

    fn associate_with_form(
        &self,
        target: &Handle,
        form: &Handle,
        nodes: (&Handle, Option<&Handle>),
    ) {
        self.inner.associate_with_form(target, form, nodes)
    }

    fn remove_from_parent(&self, target: &Handle) {
        self.inner.remove_from_parent(target)
    }

    fn reparent_children(&self, node: &Handle, new_parent: &Handle) {
        self.inner.reparent_children(node, new_parent)
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &Handle) -> bool {
        self.inner
            .is_mathml_annotation_xml_integration_point(handle)
    }

    fn set_current_line(&self, line_number: u64) {
        self.inner.set_current_line(line_number)
    }

    fn allow_declarative_shadow_roots(&self, intended_parent: &Handle) -> bool {
        self.inner.allow_declarative_shadow_roots(intended_parent)
    }

    fn attach_declarative_shadow(
        &self,
        location: &Handle,
        template: &Handle,
        attrs: &[Attribute],
    ) -> bool {
        self.inner
            .attach_declarative_shadow(location, template, attrs)
    }

    fn maybe_clone_an_option_into_selectedcontent(&self, option: &Handle) {
        self.inner
            .maybe_clone_an_option_into_selectedcontent(option)
    }
}

// ---------------------------------------------------------------------------
// A flat, pre-order copy of the tree: subtrees are index ranges, so every
// pass below is a loop instead of a recursion.

const NO_PARENT: usize = usize::MAX;

enum Data<'a> {
    Element(&'a Element),
    Text(&'a str),
    Other,
}

struct FlatNode<'a> {
    parent: usize,
    /// One past the last descendant.
    end: usize,
    data: Data<'a>,
}

struct FlatDom<'a> {
    nodes: Vec<FlatNode<'a>>,
}

impl<'a> FlatDom<'a> {
    fn new(document: &'a Html) -> Self {
        let mut nodes: Vec<FlatNode<'a>> = Vec::new();
        // Flat indices of the ancestors of the node being visited.
        let mut open: Vec<usize> = Vec::new();
        let mut visiting = Some(document.tree.root());
        while let Some(node) = visiting {
            let index = nodes.len();
            let data = match node.value() {
                Node::Element(element) => Data::Element(element),
                Node::Text(text) => Data::Text(text),
                _ => Data::Other,
            };
            nodes.push(FlatNode {
                parent: open.last().copied().unwrap_or(NO_PARENT),
                end: index + 1,
                data,
            });
            if let Some(child) = node.first_child() {
                open.push(index);
                visiting = Some(child);
                continue;
            }
            // A leaf: move to the next sibling, closing finished ancestors.
            let mut climbing = node;
            visiting = loop {
                if let Some(sibling) = climbing.next_sibling() {
                    break Some(sibling);
                }
                let Some(parent) = climbing.parent() else {
                    break None;
                };
                if let Some(ancestor) = open.pop() {
                    nodes[ancestor].end = nodes.len();
                }
                climbing = parent;
            };
        }
        FlatDom { nodes }
    }

    fn element(&self, index: usize) -> Option<&'a Element> {
        match self.nodes.get(index)?.data {
            Data::Element(element) => Some(element),
            _ => None,
        }
    }

    fn tag(&self, index: usize) -> &'a str {
        self.element(index).map_or("", |element| element.name())
    }

    fn parent(&self, index: usize) -> Option<usize> {
        self.nodes
            .get(index)
            .map(|node| node.parent)
            .filter(|&parent| parent != NO_PARENT)
    }

    /// Concatenated text of the subtree, whitespace collapsed.
    fn text_of(&self, index: usize) -> String {
        let mut text = LineText::default();
        let end = self.nodes.get(index).map_or(index, |node| node.end);
        for node in self.nodes.get(index + 1..end).unwrap_or(&[]) {
            if let Data::Text(piece) = node.data {
                text.push_str(piece);
            }
        }
        text.finish()
    }

    fn first_element_named(&self, name: &str) -> Option<usize> {
        (0..self.nodes.len()).find(|&index| self.tag(index) == name)
    }
}

// ---------------------------------------------------------------------------
// Boilerplate marks.

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Exclusion {
    None,
    /// Inside a `<header>` (or `class="…header…"`): only an article
    /// header's headings are kept.
    Header,
    /// Boilerplate: never part of the text.
    Full,
}

struct Marks {
    exclusion: Vec<Exclusion>,
    /// Inside (or is) an `<article>` or `[itemprop=articleBody]`.
    in_article: Vec<bool>,
    in_link: Vec<bool>,
    in_pre: Vec<bool>,
    /// Inside `<svg>` or `<math>`.
    in_foreign: Vec<bool>,
}

const DROPPED_TAGS: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "iframe", "nav", "footer", "aside",
    "form", "button", "select", "option", "textarea", "input", "canvas", "object", "embed",
    "audio", "video", "map", "dialog", "head",
];

const DROPPED_ROLES: &[&str] = &[
    "navigation",
    "menu",
    "menubar",
    "menuitem",
    "complementary",
    "banner",
    "contentinfo",
    "dialog",
    "alertdialog",
    "search",
    "toolbar",
];

/// Class/id words that mark boilerplate, matched against whole
/// hyphen/underscore/space-separated tokens so `lead-text` is not `ad-`.
const DROPPED_WORDS_EXACT: &[&str] = &["ad", "ads", "adv", "tag", "tags", "gdpr"];
const DROPPED_WORD_PREFIXES: &[&str] = &[
    "nav",
    "menu",
    "share",
    "sharing",
    "social",
    "comment",
    "related",
    "popular",
    "latest",
    "trending",
    "footer",
    "sidebar",
    "advert",
    "adslot",
    "promo",
    "cookie",
    "consent",
    "subscri",
    "newsletter",
    "breadcrumb",
    "sponsor",
    "popup",
    "pagination",
    "pager",
    "disqus",
    "outbrain",
    "taboola",
];

impl Marks {
    fn new(dom: &FlatDom) -> Self {
        let count = dom.nodes.len();
        // A wrapper that merely has an unlucky class must not take the
        // article down with it.
        let mut holds_story = vec![false; count];
        for index in (0..count).rev() {
            if holds_story[index] || is_story_element(dom, index) {
                if let Some(parent) = dom.parent(index) {
                    holds_story[parent] = true;
                }
            }
        }
        let mut exclusion = vec![Exclusion::None; count];
        let mut in_article = vec![false; count];
        let mut in_link = vec![false; count];
        let mut in_pre = vec![false; count];
        let mut in_foreign = vec![false; count];
        for index in 0..count {
            let parent = dom.parent(index);
            let inherited = |marks: &[bool]| parent.is_some_and(|parent| marks[parent]);
            let own = dom.element(index).map_or(Exclusion::None, |element| {
                own_exclusion(element, holds_story[index])
            });
            exclusion[index] = parent.map_or(own, |parent| exclusion[parent].max(own));
            let tag = dom.tag(index);
            in_article[index] = inherited(&in_article) || is_articleish(dom, index);
            in_link[index] = inherited(&in_link) || tag == "a";
            in_pre[index] = inherited(&in_pre) || tag == "pre" || tag == "textarea";
            in_foreign[index] = inherited(&in_foreign) || tag == "svg" || tag == "math";
        }
        Marks {
            exclusion,
            in_article,
            in_link,
            in_pre,
            in_foreign,
        }
    }
}

fn is_articleish(dom: &FlatDom, index: usize) -> bool {
    dom.element(index).is_some_and(|element| {
        element.name() == "article"
            || element
                .attr("itemprop")
                .is_some_and(|itemprop| has_token(itemprop, "articleBody"))
    })
}

fn is_main(dom: &FlatDom, index: usize) -> bool {
    dom.element(index).is_some_and(|element| {
        element.name() == "main"
            || element
                .attr("role")
                .is_some_and(|role| role.trim() == "main")
    })
}

fn is_story_element(dom: &FlatDom, index: usize) -> bool {
    is_articleish(dom, index) || is_main(dom, index)
}

fn has_token(list: &str, token: &str) -> bool {
    list.split_ascii_whitespace()
        .any(|item| item.eq_ignore_ascii_case(token))
}

fn own_exclusion(element: &Element, holds_story: bool) -> Exclusion {
    let name = element.name();
    if DROPPED_TAGS.contains(&name) {
        return Exclusion::Full;
    }
    if element.attr("hidden").is_some() {
        return Exclusion::Full;
    }
    if let Some(style) = element.attr("style") {
        let style: String = style
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        if style.contains("display:none") || style.contains("visibility:hidden") {
            return Exclusion::Full;
        }
    }
    if matches!(name, "html" | "body" | "article" | "main") || holds_story {
        return Exclusion::None;
    }
    if let Some(role) = element.attr("role") {
        let role = role.trim().to_ascii_lowercase();
        if DROPPED_ROLES.contains(&role.as_str()) {
            return Exclusion::Full;
        }
    }
    let mut header = name == "header";
    for attr in ["class", "id"] {
        let Some(value) = element.attr(attr) else {
            continue;
        };
        for token in value
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|token| !token.is_empty())
        {
            let token = token.to_ascii_lowercase();
            if DROPPED_WORDS_EXACT.contains(&token.as_str())
                || DROPPED_WORD_PREFIXES
                    .iter()
                    .any(|prefix| token.starts_with(prefix))
            {
                return Exclusion::Full;
            }
            header |= token.starts_with("header") || token == "masthead";
        }
        // Multi-word markers split by the tokenizer above.
        let lowered = value.to_ascii_lowercase();
        if lowered.contains("most-read") || lowered.contains("more-news") {
            return Exclusion::Full;
        }
    }
    if header {
        Exclusion::Header
    } else {
        Exclusion::None
    }
}

// ---------------------------------------------------------------------------
// Lines.

const INLINE_TAGS: &[&str] = &[
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font", "i",
    "img", "ins", "kbd", "label", "mark", "nobr", "picture", "q", "rp", "rt", "ruby", "s", "samp",
    "small", "source", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr",
    "meter", "progress", "output", "slot",
];

/// Blocks whose text scores for the element around them.
const PARAGRAPH_TAGS: &[&str] = &[
    "p",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "dd",
    "dt",
    "figcaption",
    "blockquote",
    "caption",
    "address",
];

struct Line {
    text: String,
    /// The first text node of the line: the line lies inside an element
    /// exactly when this index does.
    first_node: usize,
    /// Innermost block element around the line.
    owner: usize,
    heading: Option<u8>,
    exclusion: Exclusion,
    /// Word characters (see [`is_word_char`]), and how many are link text.
    alnum: usize,
    link_alnum: usize,
    /// Content weight: non-link characters, Bengali counted double.
    weight: f64,
}

#[derive(Default)]
struct LineText {
    text: String,
    pending_space: bool,
}

impl LineText {
    fn push_str(&mut self, piece: &str) {
        for c in piece.chars() {
            if c.is_whitespace() {
                self.pending_space = !self.text.is_empty();
            } else {
                if self.pending_space {
                    self.text.push(' ');
                    self.pending_space = false;
                }
                self.text.push(c);
            }
        }
    }

    fn finish(&mut self) -> String {
        self.pending_space = false;
        std::mem::take(&mut self.text)
    }
}

/// The block a line belongs to, its heading level and its exclusion.
type Owner = Option<(usize, Option<u8>, Exclusion)>;

struct LineBuilder {
    current: LineText,
    first_node: usize,
    alnum: usize,
    link_alnum: usize,
    weight: f64,
    lines: Vec<Line>,
}

impl LineBuilder {
    fn push_text(&mut self, index: usize, piece: &str, in_link: bool, in_pre: bool, owner: Owner) {
        // Inside <pre> a newline is a line break; elsewhere it is a space.
        let mut segments = piece.split(move |c| in_pre && c == '\n').peekable();
        while let Some(segment) = segments.next() {
            if self.current.text.is_empty() && !segment.trim().is_empty() {
                self.first_node = index;
            }
            self.current.push_str(segment);
            for c in segment.chars().filter(|&c| is_word_char(c)) {
                self.alnum += 1;
                if in_link {
                    self.link_alnum += 1;
                } else {
                    self.weight += if is_bengali(c) { 2.0 } else { 1.0 };
                }
            }
            if segments.peek().is_some() {
                self.flush(owner);
            }
        }
    }

    /// Ends the current line; `owner` is the block around it.
    fn flush(&mut self, owner: Owner) {
        let text = self.current.finish();
        let (alnum, link_alnum, weight) = (self.alnum, self.link_alnum, self.weight);
        self.alnum = 0;
        self.link_alnum = 0;
        self.weight = 0.0;
        if text.is_empty() {
            return;
        }
        let (owner, heading, exclusion) = owner.unwrap_or((NO_PARENT, None, Exclusion::None));
        self.lines.push(Line {
            text,
            first_node: self.first_node,
            owner,
            heading,
            exclusion,
            alnum,
            link_alnum,
            weight,
        });
    }
}

fn is_bengali(c: char) -> bool {
    ('\u{0980}'..='\u{09FF}').contains(&c)
}

/// Letters, marks and digits, the characters that make up words. The
/// Bengali block is tested first because `char::is_alphanumeric` is a slow
/// table search outside ASCII and dominated the run time on large pages.
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else if is_bengali(c) {
        !matches!(c, '\u{09F2}'..='\u{09FB}' | '\u{09FD}')
    } else {
        c.is_alphanumeric()
    }
}

fn heading_level(tag: &str) -> Option<u8> {
    match tag {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

/// Every visible line of the body (boilerplate skipped, header lines kept
/// but marked), with its owner block and weights.
fn collect_lines(dom: &FlatDom, marks: &Marks) -> Vec<Line> {
    let mut builder = LineBuilder {
        current: LineText::default(),
        first_node: 0,
        alnum: 0,
        link_alnum: 0,
        weight: 0.0,
        lines: Vec::new(),
    };
    let Some(body) = dom.first_element_named("body") else {
        return builder.lines;
    };
    let body_end = dom.nodes[body].end;
    let mut open: Vec<usize> = Vec::new();
    let mut blocks: Vec<usize> = Vec::new();
    let owner_marks = |blocks: &[usize]| -> Owner {
        blocks
            .last()
            .map(|&owner| (owner, heading_level(dom.tag(owner)), marks.exclusion[owner]))
    };
    let mut index = body;
    while index < body_end {
        while let Some(&top) = open.last() {
            if dom.nodes[top].end > index {
                break;
            }
            open.pop();
            if blocks.last() == Some(&top) {
                builder.flush(owner_marks(&blocks));
                blocks.pop();
            }
        }
        match dom.nodes[index].data {
            Data::Element(element) => {
                if marks.exclusion[index] == Exclusion::Full {
                    // A dropped block still separates the text around it.
                    if !INLINE_TAGS.contains(&element.name()) {
                        builder.flush(owner_marks(&blocks));
                    }
                    index = dom.nodes[index].end.max(index + 1);
                    continue;
                }
                let name = element.name();
                if name == "br" {
                    builder.flush(owner_marks(&blocks));
                } else if !INLINE_TAGS.contains(&name) {
                    builder.flush(owner_marks(&blocks));
                    blocks.push(index);
                }
                open.push(index);
            }
            Data::Text(piece) => {
                if marks.exclusion[index] != Exclusion::Full {
                    builder.push_text(
                        index,
                        piece,
                        marks.in_link[index],
                        marks.in_pre[index],
                        owner_marks(&blocks),
                    );
                }
            }
            Data::Other => {}
        }
        index += 1;
    }
    while let Some(top) = open.pop() {
        if blocks.last() == Some(&top) {
            builder.flush(owner_marks(&blocks));
            blocks.pop();
        }
    }
    builder.flush(owner_marks(&blocks));
    builder.lines
}

// ---------------------------------------------------------------------------
// Choosing the content element.

/// Lines shorter than this (letters and digits) are captions, labels and
/// links, not prose; they do not score.
const MIN_SCORING_ALNUM: usize = 25;

fn line_score(line: &Line) -> f64 {
    if line.exclusion != Exclusion::None || line.alnum < MIN_SCORING_ALNUM {
        0.0
    } else {
        line.weight
    }
}

/// The element whose subtree is the story, or `None` when the body has no
/// text at all.
fn choose_content(dom: &FlatDom, marks: &Marks, lines: &[Line]) -> Option<usize> {
    let body = dom.first_element_named("body")?;
    let count = dom.nodes.len();
    // Readability-style scores: a paragraph's weight goes to the element
    // around it in full, to that element's parent by half, grandparent by a
    // sixth; `prose` is the undecayed sum over a subtree.
    let mut score = vec![0.0f64; count];
    let mut prose = vec![0.0f64; count];
    for line in lines {
        let weight = line_score(line);
        if weight <= 0.0 || line.owner == NO_PARENT {
            continue;
        }
        prose[line.owner] += weight;
        let container = if PARAGRAPH_TAGS.contains(&dom.tag(line.owner)) {
            dom.parent(line.owner)
        } else {
            Some(line.owner)
        };
        let mut target = container;
        for divisor in [1.0, 2.0, 6.0] {
            let Some(element) = target else { break };
            score[element] += weight / divisor;
            target = dom.parent(element);
        }
    }
    let mut chars = vec![0usize; count];
    let mut link_chars = vec![0usize; count];
    for index in (0..count).rev() {
        if let Data::Text(piece) = dom.nodes[index].data {
            if marks.exclusion[index] == Exclusion::None {
                let letters = piece.chars().filter(|&c| is_word_char(c)).count();
                chars[index] += letters;
                if marks.in_link[index] {
                    link_chars[index] += letters;
                }
            }
        }
        if let Some(parent) = dom.parent(index) {
            chars[parent] += chars[index];
            link_chars[parent] += link_chars[index];
            prose[parent] += prose[index];
        }
    }
    let link_density = |index: usize| {
        if chars[index] == 0 {
            0.0
        } else {
            link_chars[index] as f64 / chars[index] as f64
        }
    };
    let body_end = dom.nodes[body].end;
    let in_body = |index: usize| index >= body && index < body_end;

    let mut best: Option<(usize, f64)> = None;
    for (index, &raw_score) in score.iter().enumerate().take(body_end).skip(body) {
        if raw_score <= 0.0 || marks.exclusion[index] != Exclusion::None {
            continue;
        }
        let adjusted = raw_score * (1.0 - link_density(index));
        if best.is_none_or(|(_, top)| adjusted > top) {
            best = Some((index, adjusted));
        }
    }
    // A story split across sibling blocks (an ad slot between its halves)
    // scores each half alone; climb while the parent holds much more prose.
    let scored = best.map(|(mut top, _)| {
        while let Some(parent) = dom.parent(top).filter(|&parent| in_body(parent)) {
            if prose[parent] >= 1.5 * prose[top] && link_density(parent) < 0.33 {
                top = parent;
            } else {
                break;
            }
        }
        top
    });

    let scored_prose = scored.map_or(0.0, |top| prose[top]);
    let tiers: [fn(&FlatDom, usize) -> bool; 2] = [is_articleish, is_main];
    for in_tier in tiers {
        let mut chosen: Option<usize> = None;
        for index in body..body_end {
            if marks.exclusion[index] != Exclusion::None || !in_tier(dom, index) {
                continue;
            }
            let better = match chosen {
                None => true,
                Some(current) if scored_prose > 0.0 => prose[index] > prose[current],
                Some(current) => chars[index] > chars[current],
            };
            if better {
                chosen = Some(index);
            }
        }
        if let Some(candidate) = chosen {
            let holds_story = if scored_prose > 0.0 {
                prose[candidate] >= 0.5 * scored_prose
            } else {
                chars[candidate] > 0
            };
            if holds_story {
                return Some(candidate);
            }
        }
    }
    scored.or(Some(body))
}

// ---------------------------------------------------------------------------
// Text of the chosen content.

const READ_MORE_PREFIXES: &[&str] = &[
    "আরও পড়ুন",
    "আরো পড়ুন",
    "আরও পড়ুন",
    "আরও খবর",
    "আরও দেখুন",
    "read more",
    "also read",
    "see also",
];

fn keeps_line(marks: &Marks, line: &Line) -> bool {
    if line.heading.is_none() {
        if line.exclusion != Exclusion::None {
            return false;
        }
        // A line that is nothing but a link is navigation or a teaser.
        if line.alnum > 0 && line.link_alnum == line.alnum {
            return false;
        }
        let lowered: String = line
            .text
            .chars()
            .take(16)
            .collect::<String>()
            .to_lowercase();
        if line.link_alnum * 2 >= line.alnum
            && READ_MORE_PREFIXES
                .iter()
                .any(|prefix| lowered.starts_with(prefix))
        {
            return false;
        }
        return true;
    }
    match line.exclusion {
        Exclusion::None => true,
        // The headline in an article's own `<header>`, not the masthead's.
        Exclusion::Header => marks.in_article.get(line.owner).copied().unwrap_or(false),
        Exclusion::Full => false,
    }
}

fn content_lines<'l>(
    dom: &FlatDom,
    marks: &Marks,
    lines: &'l [Line],
    content: Option<usize>,
) -> Vec<&'l Line> {
    let Some(content) = content else {
        return Vec::new();
    };
    let end = dom.nodes[content].end;
    let inside = |line: &Line| line.first_node > content && line.first_node < end;
    let mut kept: Vec<&Line> = lines
        .iter()
        .filter(|line| inside(line) && keeps_line(marks, line))
        .collect();
    if !kept.iter().any(|line| line.heading == Some(1)) {
        // The story's headline sits just above its body (same column or
        // title block); a masthead `<h1>` further up is the site's name.
        let mut region = content;
        for _ in 0..3 {
            match dom.parent(region) {
                Some(parent) if dom.tag(region) != "body" => region = parent,
                _ => break,
            }
        }
        let headline = lines.iter().rev().find(|line| {
            line.heading == Some(1)
                && line.exclusion == Exclusion::None
                && line.first_node > region
                && line.first_node < content
        });
        if let Some(headline) = headline {
            kept.insert(0, headline);
        }
    }
    kept
}

// ---------------------------------------------------------------------------
// Metadata.

const ARTICLE_TYPES: &[&str] = &[
    "Article",
    "NewsArticle",
    "ReportageNewsArticle",
    "AnalysisNewsArticle",
    "OpinionNewsArticle",
    "BackgroundNewsArticle",
    "ReviewNewsArticle",
    "AskPublicNewsArticle",
    "BlogPosting",
    "LiveBlogPosting",
    "Report",
];

const MICRODATA_DATES: &[&str] = &["datePublished", "dateModified"];

#[derive(Default)]
struct PageMeta {
    /// `property`/`name` → first non-empty `content`, keys lowercased.
    meta: HashMap<String, String>,
    /// `datePublished`/`dateModified` → first value (`content`,
    /// `datetime` or text).
    itemprops: HashMap<String, String>,
    title: Option<String>,
    json_ld: Vec<Value>,
}

fn read_page_meta(dom: &FlatDom, marks: &Marks) -> PageMeta {
    let mut page = PageMeta::default();
    for index in 0..dom.nodes.len() {
        let Some(element) = dom.element(index) else {
            continue;
        };
        match element.name() {
            "meta" => {
                let Some(content) = element.attr("content").map(collapse_whitespace) else {
                    continue;
                };
                if content.is_empty() {
                    continue;
                }
                for key_attr in ["property", "name"] {
                    if let Some(key) = element.attr(key_attr) {
                        page.meta
                            .entry(key.trim().to_ascii_lowercase())
                            .or_insert_with(|| content.clone());
                    }
                }
            }
            // An SVG icon's `<title>` is not the page's.
            "title" if page.title.is_none() && !marks.in_foreign[index] => {
                let title = dom.text_of(index);
                if !title.is_empty() {
                    page.title = Some(title);
                }
            }
            "script" => {
                let is_json_ld = element
                    .attr("type")
                    .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("application/ld+json"));
                if is_json_ld {
                    let mut raw = String::new();
                    for node in &dom.nodes[index + 1..dom.nodes[index].end] {
                        if let Data::Text(piece) = node.data {
                            raw.push_str(piece);
                        }
                    }
                    if let Some(value) = parse_json_ld(&raw) {
                        page.json_ld.push(value);
                    }
                }
            }
            _ => {}
        }
        // Only the dates are read from microdata; taking the text of every
        // itemprop (articleBody included) would copy the page again.
        if let Some(itemprop) = element.attr("itemprop") {
            for key in itemprop.split_ascii_whitespace() {
                if !MICRODATA_DATES.contains(&key) || page.itemprops.contains_key(key) {
                    continue;
                }
                let value = element
                    .attr("content")
                    .or_else(|| element.attr("datetime"))
                    .map(collapse_whitespace)
                    .unwrap_or_else(|| dom.text_of(index));
                if !value.is_empty() {
                    page.itemprops.insert(key.to_string(), value);
                }
            }
        }
    }
    page
}

/// JSON-LD as sites actually write it: sometimes wrapped in comment or
/// CDATA markers, with a trailing `;` or raw newlines inside strings.
fn parse_json_ld(raw: &str) -> Option<Value> {
    let mut body = raw.trim();
    for (open, close) in [
        ("<!--", "-->"),
        ("//<![CDATA[", "//]]>"),
        ("<![CDATA[", "]]>"),
    ] {
        body = body.strip_prefix(open).unwrap_or(body).trim();
        body = body.strip_suffix(close).unwrap_or(body).trim();
    }
    let body = body.trim_end_matches(';').trim();
    serde_json::from_str(body).ok().or_else(|| {
        let flattened: String = body
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        serde_json::from_str(&flattened).ok()
    })
}

/// Article objects from all JSON-LD blocks, in page order, and every node
/// with an `@id` so references like `"author": {"@id": …}` resolve.
struct JsonLd<'v> {
    articles: Vec<&'v Map<String, Value>>,
    by_id: HashMap<&'v str, &'v Map<String, Value>>,
}

impl<'v> JsonLd<'v> {
    fn new(blocks: &'v [Value]) -> Self {
        let mut json_ld = JsonLd {
            articles: Vec::new(),
            by_id: HashMap::new(),
        };
        // Only the containers that hold top-level entities are searched:
        // an article inside `isBasedOn` is the original, not this page.
        let mut pending: Vec<&'v Value> = blocks.iter().rev().collect();
        while let Some(value) = pending.pop() {
            match value {
                Value::Array(items) => pending.extend(items.iter().rev()),
                Value::Object(object) => {
                    if let Some(id) = object.get("@id").and_then(Value::as_str) {
                        if object.len() > 1 {
                            json_ld.by_id.entry(id).or_insert(object);
                        }
                    }
                    if has_type(object, ARTICLE_TYPES) {
                        json_ld.articles.push(object);
                    }
                    for key in ["mainEntity", "@graph"].iter().rev() {
                        if let Some(inner) = object.get(*key) {
                            pending.push(inner);
                        }
                    }
                }
                _ => {}
            }
        }
        json_ld
    }

    fn resolve(&self, value: &'v Value) -> Option<&'v Map<String, Value>> {
        let object = value.as_object()?;
        match object.get("@id").and_then(Value::as_str) {
            Some(id) if object.len() == 1 => self.by_id.get(id).copied().or(Some(object)),
            _ => Some(object),
        }
    }

    /// Names in a string, an object with `name`, an `@id` reference, or an
    /// array of those.
    fn names(&self, value: &'v Value) -> Vec<String> {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        let mut names: Vec<String> = Vec::new();
        for item in items {
            let name = match item {
                Value::String(name) => Some(name.as_str()),
                Value::Object(_) => self
                    .resolve(item)
                    .and_then(|object| object.get("name"))
                    .and_then(Value::as_str),
                _ => None,
            };
            if let Some(name) = name.map(clean_json_text).filter(|name| !name.is_empty()) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    fn first_string(&self, key: &str) -> Option<String> {
        self.articles.iter().find_map(|article| {
            article
                .get(key)
                .and_then(Value::as_str)
                .map(clean_json_text)
                .filter(|text| !text.is_empty())
        })
    }

    fn first_names(&self, key: &str) -> Option<String> {
        self.articles.iter().find_map(|article| {
            let names = self.names(article.get(key)?);
            (!names.is_empty()).then(|| names.join(", "))
        })
    }

    /// An agency the article credits: `sourceOrganization`, else the
    /// organisation behind `isBasedOn`.
    fn credited_source(&self) -> Option<String> {
        if let Some(source) = self.first_names("sourceOrganization") {
            return Some(source);
        }
        self.articles.iter().find_map(|article| {
            let based_on = article.get("isBasedOn")?;
            let items: Vec<&Value> = match based_on {
                Value::Array(items) => items.iter().collect(),
                single => vec![single],
            };
            items.into_iter().find_map(|item| match item {
                Value::String(text) if !looks_like_url(text) => {
                    Some(clean_json_text(text)).filter(|text| !text.is_empty())
                }
                Value::Object(_) => {
                    let object = self.resolve(item)?;
                    if has_type(
                        object,
                        &["Organization", "NewsMediaOrganization", "NewsAgency"],
                    ) {
                        return self.names(item).into_iter().next();
                    }
                    ["sourceOrganization", "publisher"]
                        .iter()
                        .find_map(|key| self.names(object.get(*key)?).into_iter().next())
                }
                _ => None,
            })
        })
    }
}

fn has_type(object: &Map<String, Value>, wanted: &[&str]) -> bool {
    let matches = |kind: &str| {
        let bare = kind.rsplit(['/', ':']).next().unwrap_or(kind);
        wanted.contains(&bare)
    };
    match object.get("@type") {
        Some(Value::String(kind)) => matches(kind),
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).any(matches),
        _ => false,
    }
}

fn looks_like_url(text: &str) -> bool {
    let text = text.trim_start().to_ascii_lowercase();
    text.starts_with("http://") || text.starts_with("https://") || text.starts_with("//")
}

fn page_hints(
    dom: &FlatDom,
    marks: &Marks,
    content: Option<usize>,
    headline: Option<&Line>,
) -> PageHints {
    let page = read_page_meta(dom, marks);
    let json_ld = JsonLd::new(&page.json_ld);
    let meta = |key: &str| page.meta.get(key).map(String::as_str);

    let site_name = meta("og:site_name")
        .map(str::to_string)
        .or_else(|| json_ld.first_names("publisher"));
    let title = meta("og:title")
        .map(str::to_string)
        .or_else(|| json_ld.first_string("headline"))
        .or_else(|| headline.map(|line| line.text.clone()))
        .or(page.title.clone())
        .map(|title| strip_site_suffix(&title, site_name.as_deref()));

    let published = [
        meta("article:published_time").map(str::to_string),
        json_ld.first_string("datePublished"),
        time_in_article(dom, marks, content, headline.map(|line| line.owner)),
        page.itemprops.get("datePublished").cloned(),
    ]
    .into_iter()
    .flatten()
    .find_map(|date| normalize_date(&date));
    let updated = [
        meta("article:modified_time").map(str::to_string),
        json_ld.first_string("dateModified"),
        page.itemprops.get("dateModified").cloned(),
        meta("og:updated_time").map(str::to_string),
    ]
    .into_iter()
    .flatten()
    .find_map(|date| normalize_date(&date));

    let byline = json_ld.first_names("author").or_else(|| {
        meta("author")
            .filter(|author| !looks_like_url(author))
            .map(str::to_string)
    });

    PageHints {
        title: title.filter(|title| !title.is_empty()),
        published,
        updated,
        source: json_ld.credited_source(),
        byline,
    }
}

/// The first `<time datetime>` of the story: in the content element
/// (its header included, related-story lists not), else in the article
/// around it, else between the headline and the content.
fn time_in_article(
    dom: &FlatDom,
    marks: &Marks,
    content: Option<usize>,
    headline: Option<usize>,
) -> Option<String> {
    let content = content?;
    let mut scopes: Vec<std::ops::Range<usize>> = Vec::with_capacity(3);
    scopes.push(content..dom.nodes[content].end);
    let mut cursor = dom.parent(content);
    while let Some(index) = cursor {
        if is_articleish(dom, index) {
            scopes.push(index..dom.nodes[index].end);
            break;
        }
        cursor = dom.parent(index);
    }
    if let Some(headline) = headline.filter(|&headline| headline < content) {
        scopes.push(headline..content);
    }
    scopes.into_iter().find_map(|scope| {
        scope.into_iter().find_map(|index| {
            let element = dom.element(index)?;
            if element.name() != "time" || marks.exclusion[index] == Exclusion::Full {
                return None;
            }
            element.attr("datetime").map(str::to_string)
        })
    })
}

/// Drops a trailing ` | Site`, ` - Site` … when `Site` is the page's own
/// site name.
fn strip_site_suffix(title: &str, site_name: Option<&str>) -> String {
    let title = collapse_whitespace(title);
    let Some(site) = site_name
        .map(collapse_whitespace)
        .filter(|site| !site.is_empty())
    else {
        return title;
    };
    for separator in [" | ", " - ", " – ", " — ", " :: ", " : ", " · ", " » "] {
        if let Some((head, tail)) = title.rsplit_once(separator) {
            if tail.trim().to_lowercase() == site.to_lowercase() && !head.trim().is_empty() {
                return head.trim().to_string();
            }
        }
    }
    title
}

/// Checks an ISO 8601 date or timestamp and returns it in a uniform shape:
/// a date alone as `YYYY-MM-DD`, a timestamp as given (trimmed, a space
/// between date and time turned into `T`), with its offset or `Z` if it has
/// one, else with `+06:00`. Anything else (`12 May 2025`, Bengali month names) is `None`.
fn normalize_date(raw: &str) -> Option<String> {
    let text: String = raw
        .trim()
        .chars()
        .map(|c| match c {
            '\u{09E6}'..='\u{09EF}' => char::from(b'0' + (u32::from(c) - 0x09E6) as u8),
            other => other,
        })
        .collect();
    let (date, rest) = match text.find(['T', 't', ' ']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text.as_str(), None),
    };
    let mut parts = date.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || year.len() != 4
        || !(1..=2).contains(&month.len())
        || !(1..=2).contains(&day.len())
    {
        return None;
    }
    let year: u32 = digits(year)?;
    let month: u32 = digits(month)?;
    let day: u32 = digits(day)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    match rest {
        None => Some(date),
        // A time without an offset is Bangladesh time, as the text rules
        // (`dates`) read datelines.
        Some(time) if valid_time(time) && !has_offset(time) => Some(format!("{date}T{time}+06:00")),
        Some(time) if valid_time(time) => Some(format!("{date}T{time}")),
        Some(_) => None,
    }
}

fn has_offset(time: &str) -> bool {
    time.ends_with(['Z', 'z']) || time.contains(['+', '-'])
}

fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `HH:MM[:SS[.fff]][Z|±HH[:MM]|±HHMM]`
fn valid_time(time: &str) -> bool {
    let (clock, zone) = match time.find(['Z', 'z', '+', '-']) {
        Some(at) => (&time[..at], &time[at..]),
        None => (time, ""),
    };
    let mut fields = clock.split(':');
    let hour = fields.next().and_then(digits);
    let minute = fields.next().and_then(digits);
    let second_ok = match fields.next() {
        None => true,
        Some(second) => {
            let (whole, fraction) = second.split_once(['.', ',']).unwrap_or((second, "0"));
            digits(whole).is_some_and(|s| s <= 60) && digits(fraction).is_some()
        }
    };
    let clock_ok = fields.next().is_none()
        && hour.is_some_and(|h| h <= 24)
        && minute.is_some_and(|m| m <= 59)
        && second_ok;
    let zone_ok = match zone {
        "" | "Z" | "z" => true,
        _ => {
            let offset = &zone[1..];
            let compact: String = offset.chars().filter(|&c| c != ':').collect();
            offset.len() <= 5 && matches!(compact.len(), 2 | 4) && digits(&compact).is_some()
        }
    };
    clock_ok && zone_ok
}

fn collapse_whitespace(text: &str) -> String {
    let mut line = LineText::default();
    line.push_str(text);
    line.finish()
}

/// JSON-LD strings are not HTML-decoded by the parser, yet some sites
/// escape them as HTML anyway.
fn clean_json_text(text: &str) -> String {
    collapse_whitespace(&decode_entities(text))
}

fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let entity_end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|end| end + 1)
            .filter(|&end| rest[end..].starts_with(';') && end <= 10);
        let decoded = entity_end.and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "nbsp" => Some('\u{a0}'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end + 1))
        });
        match decoded {
            Some((c, consumed)) => {
                out.push(c);
                rest = &rest[consumed..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The page read from `html`, which must not be nested too deep.
    fn page(html: &str) -> HtmlPage {
        html_page(html).expect("nested within the limit")
    }

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/html/{name}",
            env!("CARGO_MANIFEST_DIR").trim_end_matches('/')
        );
        std::fs::read_to_string(&path)
            .or_else(|_| std::fs::read_to_string(format!("/work/main/tests/fixtures/html/{name}")))
            .unwrap_or_else(|error| panic!("reading {path}: {error}"))
    }

    fn lines(page: &HtmlPage) -> Vec<&str> {
        page.text.lines().collect()
    }

    fn some(text: &str) -> Option<String> {
        Some(text.to_string())
    }

    #[test]
    fn prothom_alo_article_with_json_ld_graph() {
        let page = page(&fixture("prothomalo.html"));
        assert_eq!(
            lines(&page),
            [
                "চট্টগ্রামে পাহাড়ধসে নিহত ৪",
                "নগরের আকবর শাহ এলাকায় ধসে পড়া পাহাড়। ছবি: জুয়েল শীল",
                "টানা বৃষ্টিতে চট্টগ্রাম নগরের আকবর শাহ এলাকায় পাহাড়ধসে এক পরিবারের চারজন নিহত হয়েছেন। শনিবার ভোরে এ ঘটনা ঘটে।",
                "ফায়ার সার্ভিস জানায়, ভোর চারটার দিকে পাহাড়ের একাংশ ধসে ‘কাঁচা ঘরের’ ওপর পড়ে। ঘটনাস্থলেই তিনজনের মৃত্যু হয়।",
                "আবহাওয়া অধিদপ্তর বলছে, আগামী ২৪ ঘণ্টায় চট্টগ্রাম বিভাগে ভারী থেকে অতি ভারী বৃষ্টি হতে পারে।",
            ]
        );
        assert_eq!(
            page.hints,
            PageHints {
                // JSON-LD headline, HTML-escaped by the site.
                title: some("চট্টগ্রামে পাহাড়ধসে নিহত \"৪\""),
                // The NewsArticle's date, not the WebPage node's.
                published: some("2025-06-14T09:12:00+06:00"),
                updated: some("2025-06-14T11:40:05+06:00"),
                source: None,
                // Second author is an @id reference into the @graph.
                byline: some("নিজস্ব প্রতিবেদক, সুজন ঘোষ"),
            }
        );
    }

    #[test]
    fn bbc_bangla_main_with_time_and_line_breaks() {
        let page = page(&fixture("bbc-bangla.html"));
        assert_eq!(
            lines(&page),
            [
                "যুক্তরাষ্ট্র-চীন বাণিজ্য আলোচনা: শুল্ক কমানোর ঘোষণা",
                "১২ মে ২০২৫",
                "যুক্তরাষ্ট্র ও চীন একে অপরের পণ্যের ওপর আরোপিত শুল্ক ৯০ দিনের জন্য কমাতে রাজি হয়েছে।",
                "জেনেভায় দুই দিনের আলোচনার পর সোমবার এক যৌথ বিবৃতিতে এ ঘোষণা দেওয়া হয়।",
                "মার্কিন অর্থমন্ত্রী বলেছেন, আলোচনা ছিল গঠনমূলক।",
                "‘আমরা কেউই বাণিজ্য বিচ্ছিন্নতা চাই না’, বলেন তিনি।",
                "ঘোষণা অনুযায়ী:",
                "মার্কিন শুল্ক ১৪৫% থেকে কমে ৩০% হবে",
                "চীনের শুল্ক ১২৫% থেকে কমে ১০% হবে",
                "ছবির ক্যাপশান,জেনেভায় আলোচনার পর সংবাদ সম্মেলন",
            ]
        );
        assert_eq!(
            page.hints,
            PageHints {
                title: some("যুক্তরাষ্ট্র-চীন বাণিজ্য আলোচনা: শুল্ক কমানোর ঘোষণা"),
                published: some("2025-05-12"),
                updated: None,
                source: None,
                byline: some("BBC News বাংলা"),
            }
        );
    }

    #[test]
    fn jugantor_table_layout_skips_link_column_and_footer() {
        let page = page(&fixture("jugantor.html"));
        assert_eq!(
            lines(&page),
            [
                "সিলেটে বন্যা পরিস্থিতির অবনতি",
                "ভারী বৃষ্টি ও উজানের ঢলে সিলেটের সুরমা ও কুশিয়ারা নদীর পানি বিপৎসীমার ওপর দিয়ে প্রবাহিত হচ্ছে।",
                "জেলা প্রশাসন জানিয়েছে, কোম্পানীগঞ্জ ও গোয়াইনঘাট উপজেলার অন্তত ৫০টি গ্রাম প্লাবিত হয়েছে। আশ্রয়কেন্দ্রে উঠেছে দুই হাজার পরিবার।",
                "সূত্র: বাসস",
            ]
        );
        assert_eq!(
            page.hints,
            PageHints {
                // JSON-LD headline is empty, so the page's <h1>.
                title: some("সিলেটে বন্যা পরিস্থিতির অবনতি"),
                published: some("2025-06-02T18:45:00+06:00"),
                updated: some("2025-06-02T20:05:00+0600"),
                // From JSON-LD wrapped in CDATA with a raw newline and `;`.
                source: some("বাসস"),
                byline: some("অনলাইন ডেস্ক"),
            }
        );
    }

    #[test]
    fn boilerplate_scripts_nav_cookie_comments_footer_are_dropped() {
        let page = page(&fixture("boilerplate.html"));
        assert_eq!(
            lines(&page),
            [
                "Dhaka metro rail extends hours & adds trains",
                "The metro rail will run until 10:30 pm from Sunday, the operator said on Friday, adding four trains during the evening peak.",
                "Passengers have asked for longer hours since the Uttara–Motijheel line opened, officials said.",
            ]
        );
        assert_eq!(
            page.hints,
            PageHints {
                title: some("Dhaka metro rail extends hours & adds trains"),
                published: some("2025-05-09"),
                updated: some("2025-05-09T08:00:00Z"),
                source: None,
                // `meta name=author` holding a Facebook URL is no byline.
                byline: None,
            }
        );
    }

    #[test]
    fn page_without_article_is_found_by_scoring() {
        let page = page(&fixture("no-article.html"));
        assert_eq!(
            lines(&page),
            [
                "রাজধানীতে ডেঙ্গু রোগী বাড়ছে",
                "রাজধানীর হাসপাতালগুলোতে গত এক সপ্তাহে ডেঙ্গু রোগীর সংখ্যা প্রায় দ্বিগুণ হয়েছে বলে জানিয়েছে স্বাস্থ্য অধিদপ্তর।",
                "অধিদপ্তরের পরিচালক বলেন, ‘এডিস মশার প্রজনন বাড়ায় রোগী বাড়ছে। সবাইকে সতর্ক থাকতে হবে।’",
                "গত ২৪ ঘণ্টায় ৩১২ জন হাসপাতালে ভর্তি হয়েছেন, মারা গেছেন দুজন।",
            ]
        );
        assert_eq!(
            page.hints,
            PageHints {
                title: some("রাজধানীতে ডেঙ্গু রোগী বাড়ছে"),
                ..PageHints::default()
            }
        );
    }

    #[test]
    fn page_without_body_gives_empty_text_and_title() {
        let page = page(&fixture("no-body.html"));
        assert_eq!(page.text, "");
        assert_eq!(
            page.hints,
            PageHints {
                title: some("Redirecting…"),
                ..PageHints::default()
            }
        );
        assert_eq!(super::html_page("").unwrap().text, "");
        assert_eq!(
            super::html_page("<html><head></head></html>").unwrap(),
            HtmlPage::default()
        );
    }

    #[test]
    fn br_splits_lines_and_pre_keeps_its_lines() {
        let page = page(
            "<body><article><p>প্রথম লাইন<br>দ্বিতীয়   লাইন<br/><br>তৃতীয়</p>\
             <pre>ক  খ\nগ</pre></article></body>",
        );
        assert_eq!(lines(&page), ["প্রথম লাইন", "দ্বিতীয় লাইন", "তৃতীয়", "ক খ", "গ"]);
    }

    #[test]
    fn inline_markup_does_not_split_words_and_entities_are_decoded() {
        let page = page(
            "<body><article><p>কুর<b>স্ক</b> &amp; <i>কিম</i>&nbsp;জং&#x20;উন &lt;KCNA&gt;</p></article></body>",
        );
        assert_eq!(page.text, "কুরস্ক & কিম জং উন <KCNA>");
    }

    #[test]
    fn story_split_by_an_ad_climbs_to_the_common_parent() {
        let paragraph = "উত্তর কোরিয়া প্রথমবারের মতো রাশিয়ায় সেনা পাঠানোর কথা নিশ্চিত করেছে।";
        let html = format!(
            "<body><div id=story><div class=part><p>{paragraph} ১</p><p>{paragraph} ২</p></div>\
             <div class=ad>বিজ্ঞাপন</div>\
             <div class=part><p>{paragraph} ৩</p><p>{paragraph} ৪</p><p>{paragraph} ৫</p></div></div>\
             <div class=box><p>{paragraph} অন্য খবর</p></div></body>"
        );
        let page = page(&html);
        let expected: Vec<String> = ["১", "২", "৩", "৪", "৫"]
            .iter()
            .map(|n| format!("{paragraph} {n}"))
            .collect();
        assert_eq!(lines(&page), expected);
    }

    #[test]
    fn headline_and_time_just_above_a_scored_body_are_used() {
        let html = "<body><div class=logo><h1>খবর ২৪</h1></div>\
             <div class=wrap><div class=col><div class=title><h1>ডেঙ্গু রোগী বাড়ছে</h1>\
             <time datetime='2025-07-10T14:05:00+06:00'>১০ জুলাই</time></div>\
             <div class=details><p>রাজধানীর হাসপাতালগুলোতে ডেঙ্গু রোগীর সংখ্যা দ্বিগুণ হয়েছে।</p>\
             <p>গত ২৪ ঘণ্টায় ৩১২ জন হাসপাতালে ভর্তি হয়েছেন।</p></div></div>\
             <div class=col><p>এই ওয়েবসাইটের সকল স্বত্ব সংরক্ষিত।</p></div></div></body>";
        let page = page(html);
        assert_eq!(
            lines(&page),
            [
                "ডেঙ্গু রোগী বাড়ছে",
                "রাজধানীর হাসপাতালগুলোতে ডেঙ্গু রোগীর সংখ্যা দ্বিগুণ হয়েছে।",
                "গত ২৪ ঘণ্টায় ৩১২ জন হাসপাতালে ভর্তি হয়েছেন।",
            ]
        );
        assert_eq!(page.hints.title, some("ডেঙ্গু রোগী বাড়ছে"));
        assert_eq!(page.hints.published, some("2025-07-10T14:05:00+06:00"));
    }

    #[test]
    fn a_masthead_h1_far_from_the_story_is_not_its_headline() {
        let html = "<body><div class=brand><h1>খবর ২৪</h1></div>\
             <div class=a><div class=b><div class=c><div class=details>\
             <p>রাজধানীর হাসপাতালগুলোতে ডেঙ্গু রোগীর সংখ্যা দ্বিগুণ হয়েছে।</p></div></div></div></div></body>";
        let page = page(html);
        assert_eq!(page.text, "রাজধানীর হাসপাতালগুলোতে ডেঙ্গু রোগীর সংখ্যা দ্বিগুণ হয়েছে।");
        assert_eq!(page.hints.title, None);
    }

    #[test]
    fn a_dropped_block_still_separates_the_text_around_it() {
        let html = "<body><article><div>প্রথম অংশ<div class=share-tools><a>শেয়ার</a></div>দ্বিতীয় অংশ</div></article></body>";
        assert_eq!(lines(&page(html)), ["প্রথম অংশ", "দ্বিতীয় অংশ"]);
    }

    #[test]
    fn teaser_articles_lose_to_the_story_article() {
        let html = "<body><main>\
             <article class=card><h2><a href=/1>অন্য খবর</a></h2></article>\
             <article><h1>আসল খবর</h1><p>কেসিএনএ এক বিবৃতিতে জানিয়েছে যে সৈন্যরা কুরস্ক অঞ্চলে লড়াই করেছে।</p></article>\
             <article class=card><h2><a href=/2>আরেক খবর</a></h2></article>\
             </main></body>";
        let page = page(html);
        assert_eq!(
            lines(&page),
            [
                "আসল খবর",
                "কেসিএনএ এক বিবৃতিতে জানিয়েছে যে সৈন্যরা কুরস্ক অঞ্চলে লড়াই করেছে।"
            ]
        );
        assert_eq!(page.hints.title, some("আসল খবর"));
    }

    #[test]
    fn class_words_match_whole_tokens_only() {
        // `lead-text` and `thread-body` contain "ad-" but are not ads;
        // `with-sidebar` would be, except that it wraps the article.
        let html = "<body><div class='layout with-sidebar'><article>\
             <p class=lead-text>প্রথম অনুচ্ছেদ।</p><div class=thread-body><p>দ্বিতীয় অনুচ্ছেদ।</p></div>\
             <div class='ad'><p>বিজ্ঞাপন</p></div><div class='ads-box'><p>বিজ্ঞাপন</p></div>\
             </article></div></body>";
        assert_eq!(lines(&page(html)), ["প্রথম অনুচ্ছেদ।", "দ্বিতীয় অনুচ্ছেদ।"]);
    }

    #[test]
    fn json_ld_variants() {
        let page = page(
            r#"<html><head>
            <script type="application/ld+json">{"@type":"BreadcrumbList","itemListElement":[]}</script>
            <script type="application/ld+json">[{"@type":"WebPage","mainEntity":{"@type":"http://schema.org/NewsArticle",
              "headline":"  শিরোনাম \n এখানে ","datePublished":"2025-04-28","dateModified":"2025-04-28 21:03",
              "author":"কূটনৈতিক প্রতিবেদক",
              "isBasedOn":{"@type":"NewsArticle","publisher":{"@type":"Organization","name":"রয়টার্স"},"datePublished":"2020-01-01"}}}]</script>
            </head><body></body></html>"#,
        );
        assert_eq!(
            page.hints,
            PageHints {
                title: some("শিরোনাম এখানে"),
                published: some("2025-04-28"),
                updated: some("2025-04-28T21:03+06:00"),
                source: some("রয়টার্স"),
                byline: some("কূটনৈতিক প্রতিবেদক"),
            }
        );
    }

    #[test]
    fn meta_tags_beat_json_ld_and_itemprop() {
        let page = page(
            r#"<html><head>
            <meta property="og:title" content="OG শিরোনাম">
            <meta property="article:published_time" content="2025-04-28T10:00:00+06:00">
            <script type="application/ld+json">{"@type":"Article","headline":"LD","datePublished":"2025-01-01","author":{"@type":"Person","name":"লেখক"}}</script>
            <meta name="author" content="মেটা লেখক">
            </head><body><article><time itemprop="datePublished" datetime="2024-12-31">৩১ ডিসেম্বর</time></article></body></html>"#,
        );
        assert_eq!(page.hints.title, some("OG শিরোনাম"));
        assert_eq!(page.hints.published, some("2025-04-28T10:00:00+06:00"));
        assert_eq!(page.hints.byline, some("লেখক"));
    }

    #[test]
    fn unparseable_dates_fall_through_to_the_next_source() {
        let page = page(
            r#"<html><head><meta property="article:published_time" content="২৮ এপ্রিল ২০২৫">
            <meta itemprop="datePublished" content="2025-04-28T09:00:00+06:00"></head><body></body></html>"#,
        );
        assert_eq!(page.hints.published, some("2025-04-28T09:00:00+06:00"));
    }

    #[test]
    fn dates_are_normalized() {
        assert_eq!(normalize_date("2025-04-28"), some("2025-04-28"));
        assert_eq!(normalize_date(" 2025-4-8 "), some("2025-04-08"));
        assert_eq!(
            normalize_date("2025-04-28T10:30:00+06:00"),
            some("2025-04-28T10:30:00+06:00")
        );
        assert_eq!(
            normalize_date("2025-04-28T04:30:00.123Z"),
            some("2025-04-28T04:30:00.123Z")
        );
        assert_eq!(
            normalize_date("2025-04-28 10:30:00+0600"),
            some("2025-04-28T10:30:00+0600")
        );
        assert_eq!(normalize_date("২০২৫-০৪-২৮"), some("2025-04-28"));
        assert_eq!(
            normalize_date("2025-06-02 18:45:00"),
            some("2025-06-02T18:45:00+06:00")
        );
        for bad in [
            "",
            "28 April 2025",
            "2025-13-01",
            "2025-04-28T25:00",
            "2025-04-28Tnoon",
            "2025-04-28T10:30+6:00:00",
            "25-04-28",
        ] {
            assert_eq!(normalize_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn site_suffix_is_stripped_only_when_it_is_the_site_name() {
        let site = Some("প্রথম আলো");
        assert_eq!(strip_site_suffix("শিরোনাম | প্রথম আলো", site), "শিরোনাম");
        assert_eq!(strip_site_suffix("শিরোনাম - প্রথম  আলো", site), "শিরোনাম");
        assert_eq!(
            strip_site_suffix("শিরোনাম | অন্য সাইট", site),
            "শিরোনাম | অন্য সাইট"
        );
        assert_eq!(
            strip_site_suffix("শিরোনাম | প্রথম আলো", None),
            "শিরোনাম | প্রথম আলো"
        );
        assert_eq!(strip_site_suffix("প্রথম আলো", site), "প্রথম আলো");
    }

    #[test]
    fn sniffing_html() {
        assert!(looks_like_html("<!DOCTYPE html><html>"));
        assert!(looks_like_html("\u{feff}\n  <html lang=bn>"));
        assert!(looks_like_html("<!-- saved --><HEAD><title>x</title>"));
        assert!(looks_like_html("<p>অনুচ্ছেদ</p>"));
        assert!(looks_like_html("<div class=x><p class=y>অনুচ্ছেদ</p></div>"));
        assert!(!looks_like_html("রাশিয়ায় সেনা পাঠিয়েছে <p> উত্তর কোরিয়া"));
        assert!(!looks_like_html(
            "# Title\n\n<p>inline html in markdown</p>"
        ));
        assert!(!looks_like_html("<pre>code</pre>"));
        assert!(!looks_like_html(""));
        let long_prefix = format!("<div>{}<p>", "ক".repeat(400));
        assert!(
            !looks_like_html(&long_prefix),
            "<p> beyond the first kilobyte"
        );
    }

    fn nested(tag: &str, depth: usize) -> String {
        format!(
            "<body>{}<p>গভীরে থাকা অনুচ্ছেদ</p>{}",
            format!("<{tag}>").repeat(depth),
            format!("</{tag}>").repeat(depth)
        )
    }

    #[test]
    fn nesting_up_to_the_limit_is_read_without_overflowing_the_stack() {
        // html, body and the paragraph take three levels of the limit.
        let html = nested("div", MAX_NESTING_DEPTH - 3);
        assert_eq!(page(&html).text, "গভীরে থাকা অনুচ্ছেদ");
    }

    #[test]
    fn nesting_beyond_the_limit_is_refused_quickly() {
        for (tag, depth) in [("div", 20_000), ("blockquote", 100_000), ("ul", 80_000)] {
            let started = std::time::Instant::now();
            let error = html_page(&nested(tag, depth)).unwrap_err();
            assert_eq!(error.limit, MAX_NESTING_DEPTH);
            assert!(
                error.to_string().contains("nested more than 256"),
                "{error}"
            );
            assert!(
                started.elapsed() < std::time::Duration::from_secs(2),
                "{tag} × {depth}: {:?}",
                started.elapsed()
            );
        }
        // One level past the limit is enough.
        assert!(html_page(&nested("div", MAX_NESTING_DEPTH)).is_err());
    }

    fn generated_page(paragraphs: usize) -> String {
        let mut html = String::from(
            "<!doctype html><html><head><title>বড় পাতা</title></head><body>\
             <nav><a href=/>প্রচ্ছদ</a></nav><article><h1>বড় খবর</h1>",
        );
        for n in 0..paragraphs {
            html.push_str(&format!(
                "<p>অনুচ্ছেদ {n}: রাশিয়ায় সেনা পাঠানোর কথা নিশ্চিত করেছে উত্তর কোরিয়া, \
                 <a href=/x{n}>কেসিএনএ</a> এক বিবৃতিতে এ কথা জানায়।</p>\
                 <div class=related><a href=/r{n}>সম্পর্কিত খবর {n}</a></div>"
            ));
        }
        html.push_str("</article><footer>© ২০২৫</footer></body></html>");
        html
    }

    #[test]
    fn a_two_megabyte_page_is_extracted_whole() {
        let paragraphs = 7_000;
        let html = generated_page(paragraphs);
        assert!(html.len() > 2_000_000);
        let page = page(&html);
        let lines = lines(&page);
        assert_eq!(lines.len(), paragraphs + 1);
        assert_eq!(lines[0], "বড় খবর");
        assert_eq!(
            lines[paragraphs],
            format!(
                "অনুচ্ছেদ {}: রাশিয়ায় সেনা পাঠানোর কথা নিশ্চিত করেছে উত্তর কোরিয়া, কেসিএনএ এক বিবৃতিতে এ কথা জানায়।",
                paragraphs - 1
            )
        );
    }

    /// `cargo test -- --ignored twenty_megabyte --nocapture` prints timings.
    #[test]
    #[ignore = "slow in debug builds; run by hand for timings"]
    fn twenty_megabyte_page_timing() {
        let html = generated_page(70_000);
        let started = std::time::Instant::now();
        let page = page(&html);
        eprintln!(
            "{} MB page: {:?}, {} lines",
            html.len() / 1_000_000,
            started.elapsed(),
            page.text.lines().count()
        );
        assert_eq!(page.text.lines().count(), 70_001);
    }

    fn tag_soup() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("<p>".to_string()),
            Just("</p>".to_string()),
            Just("<br>".to_string()),
            Just("<article>".to_string()),
            Just("</article>".to_string()),
            Just("<main role=main>".to_string()),
            Just("<div class='related nav'>".to_string()),
            Just("</div>".to_string()),
            Just("<header>".to_string()),
            Just("</header>".to_string()),
            Just("<h1>".to_string()),
            Just("</h1>".to_string()),
            Just("<a href=x>".to_string()),
            Just("</a>".to_string()),
            Just("<table><tr><td>".to_string()),
            Just("<pre>".to_string()),
            Just("<svg><title>".to_string()),
            Just("<script type=application/ld+json>{\"@graph\":[{\"@type\":\"NewsArticle\",\"author\":[".to_string()),
            Just("</script>".to_string()),
            Just("<meta property=og:title content='".to_string()),
            Just("<time datetime=2025-0".to_string()),
            Just("<!--".to_string()),
            Just("&amp;&#x9a8;&".to_string()),
            "[ক-হা-ৎ।,\\s]{0,30}".prop_map(|text| text),
            any::<String>(),
        ];
        prop::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
    }

    /// Tags html5ever nests in different ways: blocks, lists, quotes,
    /// tables, formatting elements (the adoption agency), foreign content,
    /// templates.
    const NESTING_TAGS: &[&str] = &[
        "div",
        "ul",
        "li",
        "blockquote",
        "table",
        "td",
        "tr",
        "p",
        "a",
        "b",
        "font",
        "span",
        "section",
        "select",
        "option",
        "svg",
        "math",
        "dl",
        "dd",
        "button",
        "form",
        "h2",
        "nobr",
        "template",
        "article",
    ];

    /// How long one page may take: 2 s in a release build (the long fuzz
    /// run); this crate's own passes are several times slower unoptimized.
    fn page_time_limit() -> std::time::Duration {
        std::time::Duration::from_secs(if cfg!(debug_assertions) { 10 } else { 2 })
    }

    /// A page nested some levels deep (each level many tags deep, closed at
    /// the end or not) holding a run of many sibling elements.
    fn deep_and_wide() -> impl Strategy<Value = String> {
        let level = (
            prop::sample::select(NESTING_TAGS),
            0..3_000usize,
            any::<bool>(),
        );
        (
            prop::collection::vec(level, 1..4),
            prop::sample::select(NESTING_TAGS),
            0..30_000usize,
            any::<bool>(),
        )
            .prop_map(|(levels, sibling, width, sibling_closed)| {
                let mut html = String::from("<!doctype html><html><body>");
                for (tag, depth, _) in &levels {
                    html.push_str(&format!("<{tag} class=x>").repeat(*depth));
                }
                let item = if sibling_closed {
                    format!("<{sibling}>খবরের অনুচ্ছেদ।</{sibling}>")
                } else {
                    format!("<{sibling}>খবরের অনুচ্ছেদ।")
                };
                html.push_str(&item.repeat(width));
                for (tag, depth, closed) in levels.iter().rev() {
                    if *closed {
                        html.push_str(&format!("</{tag}>").repeat(*depth));
                    }
                }
                html
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases(8)))]

        #[test]
        fn deep_and_wide_pages_are_read_or_refused_in_bounded_time(html in deep_and_wide()) {
            let started = std::time::Instant::now();
            let read = html_page(&html);
            let elapsed = started.elapsed();
            prop_assert!(
                elapsed < page_time_limit(),
                "{} bytes took {:?}: {:?}…",
                html.len(),
                elapsed,
                &html[..html.len().min(200)]
            );
            if let Ok(page) = read {
                prop_assert!(page.text.lines().all(|line| !line.is_empty()));
            }
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in any::<String>()) {
            let page = page(&text);
            prop_assert!(!page.text.contains("\n\n"));
            let _ = looks_like_html(&text);
        }

        #[test]
        fn never_panics_on_tag_soup(html in tag_soup()) {
            let page = page(&html);
            for line in page.text.lines() {
                prop_assert!(!line.is_empty());
                prop_assert_eq!(line.trim(), line);
            }
            let _ = looks_like_html(&html);
        }

        #[test]
        fn dates_never_panic(raw in "[0-9০-৯TZ:+\\-. ]{0,30}") {
            let _ = normalize_date(&raw);
        }
    }
}
