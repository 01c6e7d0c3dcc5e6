//! `anubad models`: list, pull, quantize and describe models.

use std::io::Write;

use anubad::chat;
use anubad::models::{self, find_preset, resolve_any, Preset, ResolveOptions};

use super::{config, run_failure, Failure, ModelsCommand, DEFAULT_MODEL};

pub fn models(command: ModelsCommand) -> Result<u8, Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match command {
        ModelsCommand::List { json } => {
            if json {
                for preset in models::presets() {
                    let record = serde_json::json!({
                        "name": preset.name,
                        "default": preset.name == DEFAULT_MODEL,
                        "kind": preset.kind.name(),
                        "family": preset.family,
                        "repo": preset.repo,
                        "revision": preset.revision,
                        "params": preset.params,
                        "size": preset.size,
                        "flores_chrf": preset.flores_chrf,
                        "licence": preset.licence,
                        "downloaded": models::is_downloaded(&preset),
                    });
                    writeln!(out, "{record}").map_err(run_failure)?;
                }
                return Ok(0);
            }
            writeln!(
                out,
                "{:<26} {:<11} {:<8} {:>7} {:>9} {:>13}  {:<19} DOWNLOADED",
                "NAME", "KIND", "FAMILY", "PARAMS", "SIZE", "FLORES chrF++", "LICENCE"
            )
            .map_err(run_failure)?;
            for preset in models::presets() {
                let downloaded = models::is_downloaded(&preset);
                let name = if preset.name == DEFAULT_MODEL {
                    format!("{} *", preset.name)
                } else {
                    preset.name.clone()
                };
                writeln!(
                    out,
                    "{:<26} {:<11} {:<8} {:>7} {:>9} {:>13}  {:<19} {}",
                    name,
                    preset.kind.name(),
                    preset.family,
                    preset.params.as_deref().unwrap_or("-"),
                    preset.size,
                    preset
                        .flores_chrf
                        .map(|v| format!("{v:.1}"))
                        .unwrap_or_else(|| "-".into()),
                    preset.licence,
                    if downloaded { "yes" } else { "no" }
                )
                .map_err(run_failure)?;
            }
            writeln!(out, "* the default --model").map_err(run_failure)?;
            Ok(0)
        }
        ModelsCommand::Pull { name, offline } => {
            let options = ResolveOptions {
                offline,
                ..ResolveOptions::default()
            };
            let resolved = resolve_any(&name, &options).map_err(config)?;
            if let Some(licence) = &resolved.licence {
                eprintln!("{}: licence {licence}", resolved.name);
            }
            writeln!(out, "{}", resolved.dir.display()).map_err(run_failure)?;
            Ok(0)
        }
        ModelsCommand::Quantize {
            name,
            out: out_dir,
            quantization,
            offline,
        } => {
            let options = ResolveOptions {
                offline,
                ..ResolveOptions::default()
            };
            let Some(ggml) = quantization.ggml() else {
                return Err(config(anyhow::anyhow!(
                    "{} is made while loading, from dense weights: run with --quantize {} \
                     on the original model instead of storing a copy",
                    quantization.name(),
                    quantization.name()
                )));
            };
            let resolved = models::resolve(&name, &options).map_err(config)?;
            let family = anubad::nmt::translator::model_family(&resolved).map_err(config)?;
            let report =
                models::gguf_export::export_model_dir(&resolved, family.name(), ggml, &out_dir)
                    .map_err(config)?;
            eprintln!(
                "{} tensors {}, {} kept f32; {:.1} MB -> {:.1} MB",
                report.quantized,
                quantization.name(),
                report.kept_f32,
                report.input_bytes as f64 / 1e6,
                report.output_bytes as f64 / 1e6
            );
            if let Some(licence) = &resolved.licence {
                eprintln!("licence of the weights: {licence}");
            }
            writeln!(out, "{}", out_dir.display()).map_err(run_failure)?;
            Ok(0)
        }
        ModelsCommand::Info { name, offline } => {
            let options = ResolveOptions {
                offline,
                ..ResolveOptions::default()
            };
            // A preset not downloaded yet is described from what the tool
            // knows of it, without a download.
            if let Some(preset) = find_preset(&name).filter(|p| !models::is_downloaded(p)) {
                write_preset_facts(&mut out, &preset).map_err(run_failure)?;
                return Ok(0);
            }
            let resolved = resolve_any(&name, &options).map_err(config)?;
            writeln!(out, "name:      {}", resolved.name).map_err(run_failure)?;
            writeln!(out, "directory: {}", resolved.dir.display()).map_err(run_failure)?;
            if let Some(repo) = &resolved.repo {
                writeln!(
                    out,
                    "hub:       {repo}@{}",
                    resolved.revision.as_deref().unwrap_or("main")
                )
                .map_err(run_failure)?;
            }
            writeln!(
                out,
                "licence:   {}",
                resolved
                    .licence
                    .as_deref()
                    .unwrap_or("unknown (see the model card)")
            )
            .map_err(run_failure)?;
            match &resolved.gguf_chat_model {
                Some(gguf) => {
                    writeln!(out, "kind:      chat").map_err(run_failure)?;
                    for (key, value) in chat::gguf_facts(gguf).map_err(config)? {
                        writeln!(out, "{key:<10} {value}").map_err(run_failure)?;
                    }
                }
                None => {
                    let summary = models::model_dir_summary(&resolved.dir).map_err(config)?;
                    writeln!(out, "{summary}").map_err(run_failure)?;
                }
            }
            Ok(0)
        }
    }
}

/// `models info` of a preset that is not downloaded: its built-in facts.
fn write_preset_facts(out: &mut impl Write, preset: &Preset) -> std::io::Result<()> {
    writeln!(out, "name:      {}", preset.name)?;
    writeln!(out, "hub:       {}@{}", preset.repo, preset.revision)?;
    writeln!(out, "kind:      {}", preset.kind.name())?;
    writeln!(out, "family:    {}", preset.family)?;
    if let Some(params) = &preset.params {
        writeln!(out, "params:    {params}")?;
    }
    writeln!(out, "download:  {}", preset.size)?;
    if let Some(chrf) = preset.flores_chrf {
        writeln!(out, "FLORES-200 ben-eng chrF++: {chrf:.1}")?;
    }
    writeln!(out, "licence:   {}", preset.licence)?;
    writeln!(out, "files:     {}", preset.files.join(", "))?;
    writeln!(
        out,
        "not downloaded: `anubad models pull {}` fetches it; its dimensions are shown then",
        preset.name
    )
}
