//! `berth` image commands.

use crate::Globals;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ImageCommand {}

pub fn run(cmd: ImageCommand, _g: &Globals) -> anyhow::Result<i32> {
    match cmd {}
}
