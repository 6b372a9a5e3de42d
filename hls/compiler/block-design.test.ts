// The card's block design script (hls/compiler/block-design.ts), checked without Vivado: tclsh
// (installed by `make apt-test`) parses it command by command (`info complete`), then runs it with every Vivado command
// recorded instead of executed, and the recorded commands must name the board's part, the
// kernel's VLNV and the offsets of regmap.json and address_map.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARD_BOARDS, kernelVlnv, type AddressMap } from './block-design.js';
import { compileModel } from './compile.js';

const REPO = join(import.meta.dirname, '..', '..');
const JET_ONNX = join(REPO, '..', 'shared', 'data', 'models', 'hls4ml-examples', 'three_layer_keras.onnx');
const NAME = 'jet_card';

/** Splits a script into commands as Tcl does (lines joined until `info complete`); prints each command's first word, or INCOMPLETE. */
const SPLIT_TCL = `
set f [open [lindex $argv 0]]; set text [read $f]; close $f
set cmd ""
foreach line [split $text "\\n"] {
  append cmd $line "\\n"
  if {[info complete $cmd]} {
    set t [string trim $cmd]
    if {$t ne "" && [string index $t 0] ne "#"} { puts [lindex [regexp -inline {^\\S+} $t] 0] }
    set cmd ""
  }
}
if {[string trim $cmd] ne ""} { puts INCOMPLETE }
`;

/** Runs the script with Vivado's commands recorded (one line each: the words, tab-separated) and given plausible answers. */
const DRY_RUN_TCL = `
set ::log [open [lindex $argv 1] w]
set ::kernel_vlnv_seen ""
proc unknown {args} {
  puts $::log [join $args "\\t"]
  set cmd [lindex $args 0]
  switch -- $cmd {
    get_board_parts { return "xilinx.com:au250:part0:1.3" }
    get_ipdefs { return $::kernel_vlnv }
    get_property {
      switch -glob -- [lindex $args 1] {
        CONFIG.FREQ_HZ { return 250000000 }
        OFFSET { return $::kernel_offset }
        PROGRESS { return "100%" }
        SLACK { return 0.125 }
        default { return "" }
      }
    }
    get_bd_addr_segs { return seg0 }
    default { return "" }
  }
}
set argv [list [lindex $argv 2]]
source [lindex $::argv0_script 0]
`;

describe('the card block design of a compiled model (Alveo U250)', () => {
  let dir = '';
  let tcl = '';
  let am: AddressMap;
  let regionBytes = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ht-bd-'));
    await compileModel({ model: JET_ONNX, out: dir, name: NAME, precision: 'default', strategy: 'latency', reuse: 1, clockMhz: 200, check: 0, seed: 1 });
    tcl = join(dir, 'vivado', `${NAME}_bd.tcl`);
    am = JSON.parse(readFileSync(join(dir, 'vivado', 'address_map.json'), 'utf8')) as AddressMap;
    regionBytes = (JSON.parse(readFileSync(join(dir, 'regmap.json'), 'utf8')) as { regionBytes: number }).regionBytes;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes an address map the driver can map: the kernel page-aligned in the BAR, its range holding REGION_BYTES', () => {
    const part = (JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { part: string }).part;
    expect(am).toMatchObject({ board: 'Alveo U250', part, bar: 0, userDevice: '/dev/xdma0_user', regionBytes, kernelVlnv: kernelVlnv(NAME), clockMhz: 200 });
    expect(am.kernelOffset % 4096).toBe(0);
    expect(am.kernelOffset).toBeGreaterThan(0);
    expect(am.kernelOffset % am.kernelRangeBytes).toBe(0);
    expect(am.kernelRangeBytes).toBeGreaterThanOrEqual(regionBytes);
    expect(am.kernelRangeBytes & (am.kernelRangeBytes - 1)).toBe(0);
    expect(am.kernelOffset + am.kernelRangeBytes).toBeLessThanOrEqual(am.barBytes);
  });

  it('parses in tclsh: every command complete', () => {
    const script = join(dir, 'split.tcl');
    writeFileSync(script, SPLIT_TCL);
    const words = execFileSync('tclsh', [script, tcl], { encoding: 'utf8' }).trim().split('\n');
    expect(words).not.toContain('INCOMPLETE');
    for (const w of ['create_project', 'create_bd_design', 'assign_bd_address', 'validate_bd_design', 'generate_target', 'launch_runs', 'write_bitstream']) expect(words).toContain(w);
  });

  it('runs in tclsh with Vivado recorded: the part, the board, XDMA, the kernel VLNV and the address map', () => {
    const ipRepo = join(dir, 'ip');
    mkdirSync(ipRepo);
    const log = join(dir, 'vivado.log');
    const script = join(dir, 'dry.tcl');
    writeFileSync(script, `set ::argv0_script [list {${tcl}}]\nset ::kernel_vlnv {${am.kernelVlnv}}\nset ::kernel_offset 0x${am.kernelOffset.toString(16).toUpperCase().padStart(8, '0')}\n${DRY_RUN_TCL}`);
    execFileSync('tclsh', [script, '', log, ipRepo], { encoding: 'utf8' });
    const cmds = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split('\t'));
    const find = (w: string, has: string) => cmds.find((c) => c[0] === w && c.includes(has));
    expect(find('create_project', CARD_BOARDS[am.part]!.part)).toBeDefined();
    expect(find('get_board_parts', '*:au250:*')).toBeDefined();
    expect(find('create_bd_cell', 'xilinx.com:ip:xdma')).toBeDefined();
    expect(find('create_bd_cell', am.kernelVlnv)).toBeDefined();
    const assign = find('assign_bd_address', '-offset')!;
    expect(Number(assign[assign.indexOf('-offset') + 1])).toBe(am.kernelOffset);
    expect(Number(assign[assign.indexOf('-range') + 1])).toBe(am.kernelRangeBytes);
    const xdma = cmds.find((c) => c[0] === 'set_property' && c.some((w) => w.includes('CONFIG.axilite_master_en')))!.join(' ');
    expect(xdma).toMatch(/CONFIG\.axilite_master_en true/);
    expect(xdma).toMatch(new RegExp(`CONFIG\\.axilite_master_size ${am.barBytes / 2 ** 20}\\b`));
    expect(find('write_bitstream', '-force')).toBeDefined();
  });

  it('constrains the PCIe reference clock and PERST# on the pins of the board', () => {
    const xdc = readFileSync(join(dir, 'vivado', `${NAME}_pcie.xdc`), 'utf8');
    expect(xdc).toMatch(/PACKAGE_PIN AM11 \[get_ports \{pcie_refclk_clk_p\[0\]\}\]/);
    expect(xdc).toMatch(/PACKAGE_PIN AM10 \[get_ports \{pcie_refclk_clk_n\[0\]\}\]/);
    expect(xdc).toMatch(/PACKAGE_PIN BD21 IOSTANDARD LVCMOS12/);
  });
});
