//! English names of news outlets and agencies as Bengali pages write them
//! (`প্রথম আলো`, `বাসস`, `এএফপি`), so a digest reader who knows no Bengali
//! can tell where a story comes from. The article JSON keeps the name as
//! the page wrote it; only what a reader sees is translated.

/// Bengali spelling → English name. Spellings are compared after
/// [`normalize`], so `দৈনিক যুগান্তর` and `যুগান্তর` both match.
const OUTLETS: &[(&str, &str)] = &[
    // Bangladesh dailies and portals
    ("প্রথম আলো", "Prothom Alo"),
    ("কালের কণ্ঠ", "Kaler Kantho"),
    ("যুগান্তর", "Jugantor"),
    ("সমকাল", "Samakal"),
    ("ইত্তেফাক", "The Daily Ittefaq"),
    ("বাংলাদেশ প্রতিদিন", "Bangladesh Pratidin"),
    ("ডেইলি স্টার", "The Daily Star"),
    ("ঢাকা ট্রিবিউন", "Dhaka Tribune"),
    ("বিডিনিউজ২৪", "bdnews24.com"),
    ("বিডিনিউজ২৪.কম", "bdnews24.com"),
    ("বিডিনিউজ টোয়েন্টিফোর", "bdnews24.com"),
    ("ঢাকা পোস্ট", "Dhaka Post"),
    ("জাগো নিউজ", "Jago News 24"),
    ("জাগোনিউজ২৪", "Jago News 24"),
    ("জাগো নিউজ ২৪", "Jago News 24"),
    ("আজকের পত্রিকা", "Ajker Patrika"),
    ("নয়া দিগন্ত", "Naya Diganta"),
    ("মানবজমিন", "Manab Zamin"),
    ("ইনকিলাব", "The Daily Inqilab"),
    ("বাংলানিউজ২৪", "Banglanews24"),
    ("বাংলা ট্রিবিউন", "Bangla Tribune"),
    ("দেশ রূপান্তর", "Desh Rupantor"),
    ("কালবেলা", "Kalbela"),
    ("ভোরের কাগজ", "Bhorer Kagoj"),
    ("জনকণ্ঠ", "Janakantha"),
    ("বণিক বার্তা", "Bonik Barta"),
    ("সময় টিভি", "Somoy TV"),
    ("চ্যানেল ২৪", "Channel 24"),
    ("একাত্তর", "Ekattor TV"),
    ("একাত্তর টিভি", "Ekattor TV"),
    // West Bengal
    ("আনন্দবাজার", "Anandabazar Patrika"),
    ("আনন্দবাজার পত্রিকা", "Anandabazar Patrika"),
    ("বর্তমান", "Bartaman"),
    ("এই সময়", "Ei Samay"),
    ("সংবাদ প্রতিদিন", "Sangbad Pratidin"),
    // Broadcasters and agencies
    ("বিবিসি বাংলা", "BBC Bangla"),
    ("বিবিসি", "BBC"),
    ("ডয়চে ভেলে", "Deutsche Welle"),
    ("ভয়েস অব আমেরিকা", "Voice of America"),
    ("আল জাজিরা", "Al Jazeera"),
    ("সিএনএন", "CNN"),
    ("বাসস", "BSS (Bangladesh Sangbad Sangstha)"),
    ("বাংলাদেশ সংবাদ সংস্থা", "BSS (Bangladesh Sangbad Sangstha)"),
    ("ইউএনবি", "UNB"),
    ("ইউনাইটেড নিউজ অব বাংলাদেশ", "UNB"),
    ("এএফপি", "AFP"),
    ("রয়টার্স", "Reuters"),
    ("এপি", "AP"),
    ("অ্যাসোসিয়েটেড প্রেস", "AP"),
    ("পিটিআই", "PTI"),
    ("আইএএনএস", "IANS"),
    ("সিনহুয়া", "Xinhua"),
    ("তাস", "TASS"),
    ("কেসিএনএ", "KCNA"),
    ("ইয়োনহাপ", "Yonhap"),
];

/// Words around an outlet's name that do not change which outlet it is:
/// "daily" before it, "online"/"desk"/"report" after it.
const PREFIXES: &[&str] = &["দৈনিক ", "দ্য ", "দি "];
const SUFFIXES: &[&str] = &[" অনলাইন", " ডেস্ক", " অনলাইন ডেস্ক", " প্রতিবেদক", " ডটকম"];

/// The English name of the outlet or agency `source` names, when it is one
/// this table knows.
pub(crate) fn english_source_name(source: &str) -> Option<&'static str> {
    let wanted = normalize(source);
    OUTLETS
        .iter()
        .find(|(bengali, _)| normalize(bengali) == wanted)
        .map(|(_, english)| *english)
}

/// What a reader is shown for `source`: the English name when known, else
/// the name as written.
pub(crate) fn display_source_name(source: &str) -> String {
    english_source_name(source)
        .map(str::to_string)
        .unwrap_or_else(|| source.trim().to_string())
}

fn normalize(name: &str) -> String {
    let mut name: String = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['\u{200c}', '\u{200d}'], "");
    // Longest affixes first, so " অনলাইন ডেস্ক" goes before " ডেস্ক".
    let mut suffixes = SUFFIXES.to_vec();
    suffixes.sort_by_key(|s| std::cmp::Reverse(s.len()));
    loop {
        let before = name.len();
        for prefix in PREFIXES {
            if let Some(rest) = name.strip_prefix(prefix) {
                name = rest.to_string();
            }
        }
        for suffix in &suffixes {
            if let Some(rest) = name.strip_suffix(suffix) {
                name = rest.to_string();
            }
        }
        if name.len() == before {
            return name;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlets_and_agencies_get_their_english_names() {
        for (bengali, english) in [
            ("আল জাজিরা", "Al Jazeera"),
            ("বাসস", "BSS (Bangladesh Sangbad Sangstha)"),
            ("এএফপি", "AFP"),
            ("দৈনিক যুগান্তর", "Jugantor"),
            ("  প্রথম   আলো ", "Prothom Alo"),
            ("কালের কণ্ঠ অনলাইন", "Kaler Kantho"),
            ("দ্য ডেইলি স্টার", "The Daily Star"),
            ("বিবিসি বাংলা", "BBC Bangla"),
        ] {
            assert_eq!(english_source_name(bengali), Some(english), "{bengali}");
        }
    }

    #[test]
    fn unknown_and_english_names_are_shown_as_written() {
        assert_eq!(english_source_name("অচেনা পত্রিকা"), None);
        assert_eq!(display_source_name("অচেনা পত্রিকা"), "অচেনা পত্রিকা");
        assert_eq!(display_source_name(" Prothom Alo "), "Prothom Alo");
        // A bare prefix or suffix names no outlet.
        assert_eq!(english_source_name("দৈনিক"), None);
        assert_eq!(english_source_name(""), None);
    }

    #[test]
    fn every_spelling_in_the_table_is_already_normalized() {
        for (bengali, _) in OUTLETS {
            assert_eq!(normalize(bengali), *bengali, "{bengali}");
        }
    }
}
