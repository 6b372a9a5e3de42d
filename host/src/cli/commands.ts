import type { Command } from 'commander';

/** What an installed command may use from the CLI. */
export interface CommandContext {
  /** The repository root (models/zoo, hls/build are found from here). */
  repoRoot: string;
  /** A commander parser of a finite number option, named in its error. */
  num(name: string): (v: string) => number;
}

/** Adds one or more commands to the `hairtrigger` program. */
export type CommandInstaller = (program: Command, ctx: CommandContext) => void;

const installers: CommandInstaller[] = [];

/**
 * Registers commands that live outside host/ (the device emulator in sim/): the composition
 * root (bin/hairtrigger.js) loads those modules before `main`, so host/ never imports them.
 */
export function registerCommands(install: CommandInstaller): void {
  installers.push(install);
}

/** The installers registered so far, in order. */
export function commandInstallers(): readonly CommandInstaller[] {
  return installers;
}
