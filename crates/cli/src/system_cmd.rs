//! `berth` system commands.

use crate::Globals;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SystemCommand {}

pub fn run(cmd: SystemCommand, _g: &Globals) -> anyhow::Result<i32> {
    match cmd {}
}
