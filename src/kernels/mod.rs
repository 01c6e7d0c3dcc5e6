//! Hot paths the project owns because candle is slow on them: the int8
//! linear layers behind `--quantize int8`, and attention for a decoding step.

pub mod attention;
pub mod int8;
