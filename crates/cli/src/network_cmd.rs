//! `berth` network commands.

use crate::Globals;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {}

pub fn run(cmd: NetworkCommand, _g: &Globals) -> anyhow::Result<i32> {
    match cmd {}
}
