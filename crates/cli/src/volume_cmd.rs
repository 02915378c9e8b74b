//! `berth` volume commands.

use crate::Globals;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {}

pub fn run(cmd: VolumeCommand, _g: &Globals) -> anyhow::Result<i32> {
    match cmd {}
}
