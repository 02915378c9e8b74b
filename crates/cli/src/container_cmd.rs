//! `berth` container commands.

use crate::Globals;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {}

pub fn run(cmd: ContainerCommand, _g: &Globals) -> anyhow::Result<i32> {
    match cmd {}
}
