//! Hot paths the project owns because candle is slow on them: the int8
//! linear layers behind `--quantize int8`.

pub mod int8;
