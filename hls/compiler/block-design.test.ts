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
    get_board_parts { return $::board_part }
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

/** Runs `tcl` with Vivado recorded (board files answering as `boardPart`); the recorded commands, split into words. */
function dryRun(dir: string, tcl: string, am: AddressMap, boardPart: string): string[][] {
  const ipRepo = join(dir, 'ip');
  mkdirSync(ipRepo, { recursive: true });
  const log = join(dir, 'vivado.log');
  const script = join(dir, 'dry.tcl');
  const offset = `0x${am.kernelOffset.toString(16).toUpperCase().padStart(8, '0')}`;
  writeFileSync(script, `set ::argv0_script [list {${tcl}}]\nset ::kernel_vlnv {${am.kernelVlnv}}\nset ::kernel_offset ${offset}\nset ::board_part {${boardPart}}\n${DRY_RUN_TCL}`);
  execFileSync('tclsh', [script, '', log, ipRepo], { encoding: 'utf8' });
  return readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split('\t'));
}

/** The words of the recorded `set_property -dict` whose list sets `key` (the XDMA or util_ds_buf CONFIG). */
function configOf(cmds: string[][], key: string): string {
  return cmds.find((c) => c[0] === 'set_property' && c.some((w) => w.includes(key)))!.join(' ');
}

/** The PCIe pins go through the board interfaces, and the XDC names no pin. */
function expectBoardInterfaces(cmds: string[][], script: string, xdc: string): void {
  const xdma = configOf(cmds, 'CONFIG.axilite_master_en');
  expect(xdma).toMatch(/CONFIG\.PCIE_BOARD_INTERFACE pci_express_x16/);
  expect(xdma).toMatch(/CONFIG\.SYS_RST_N_BOARD_INTERFACE pcie_perstn/);
  expect(configOf(cmds, 'CONFIG.C_BUF_TYPE')).toMatch(/CONFIG\.DIFF_CLK_IN_BOARD_INTERFACE pcie_refclk CONFIG\.USE_BOARD_FLOW true/);
  // the connections' arguments are nested commands (recorded apart, answering ""): checked in the script's text
  expect(script).toMatch(/connect_bd_intf_net \[get_bd_intf_ports pcie_refclk\] \[get_bd_intf_pins refclk_buf\/CLK_IN_D\]/);
  expect(script).toMatch(/connect_bd_net \[get_bd_ports pcie_perstn\] \[get_bd_pins xdma_0\/sys_rst_n\]/);
  expect(script).toMatch(/connect_bd_intf_net \[get_bd_intf_ports pci_express_x16\] \[get_bd_intf_pins xdma_0\/pcie_mgt\]/);
  expect(xdc).not.toMatch(/PACKAGE_PIN|IOSTANDARD|LOC/);
  expect(xdc).toMatch(/create_clock -name pcie_refclk -period 10\.000 \[get_ports pcie_refclk_clk_p\]/);
  expect(xdc).toMatch(/set_false_path -from \[get_ports pcie_perstn\]/);
}

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
    const cmds = dryRun(dir, tcl, am, 'xilinx.com:au250:part0:1.3');
    const find = (w: string, has: string) => cmds.find((c) => c[0] === w && c.includes(has));
    expect(find('create_project', CARD_BOARDS[am.part]!.part)).toBeDefined();
    expect(find('get_board_parts', '*:au250:*')).toBeDefined();
    expect(find('create_bd_cell', 'xilinx.com:ip:xdma')).toBeDefined();
    expect(find('create_bd_cell', am.kernelVlnv)).toBeDefined();
    const assign = find('assign_bd_address', '-offset')!;
    expect(Number(assign[assign.indexOf('-offset') + 1])).toBe(am.kernelOffset);
    expect(Number(assign[assign.indexOf('-range') + 1])).toBe(am.kernelRangeBytes);
    const xdma = configOf(cmds, 'CONFIG.axilite_master_en');
    expect(xdma).toMatch(/CONFIG\.axilite_master_en true/);
    expect(xdma).toMatch(new RegExp(`CONFIG\\.axilite_master_size ${am.barBytes / 2 ** 20}\\b`));
    expect(find('write_bitstream', '-force')).toBeDefined();
  });

  it('connects the PCIe pins through the board interfaces; the XDC has only their timing', () => {
    const xdc = readFileSync(join(dir, 'vivado', `${NAME}_pcie.xdc`), 'utf8');
    expectBoardInterfaces(dryRun(dir, tcl, am, 'xilinx.com:au250:part0:1.3'), readFileSync(tcl, 'utf8'), xdc);
  });
});

const LYMPHOCYTE = join(REPO, 'models', 'zoo', 'cells-lymphocyte', 'student.onnx');

describe('the card block design of a cell student (Alveo U50, the io plan\'s part)', () => {
  const name = 'lymph_card';
  let dir = '';
  let tcl = '';
  let am: AddressMap;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ht-bd50-'));
    await compileModel({ model: LYMPHOCYTE, out: dir, name, precision: 'default', strategy: 'latency', reuse: 1, clockMhz: 200, check: 0, seed: 1, task: 'cells-lymphocyte', lib: false });
    tcl = join(dir, 'vivado', `${name}_bd.tcl`);
    am = JSON.parse(readFileSync(join(dir, 'vivado', 'address_map.json'), 'utf8')) as AddressMap;
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('plans the student on the U50 (AMD DS965: xcu50-fsvh2104-2-e) and writes its block design there', () => {
    const model = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { part: string };
    expect(model.part).toBe('xcu50-fsvh2104-2-e');
    expect(am).toMatchObject({ board: 'Alveo U50', part: 'xcu50-fsvh2104-2-e', bar: 0, kernelVlnv: kernelVlnv(name), clockMhz: 200 });
    expect(am.kernelOffset % am.kernelRangeBytes).toBe(0);
  });

  it('parses in tclsh and runs with Vivado recorded: the U50 part and board files, the PCIe board interfaces', () => {
    const script = join(dir, 'split.tcl');
    writeFileSync(script, SPLIT_TCL);
    expect(execFileSync('tclsh', [script, tcl], { encoding: 'utf8' })).not.toContain('INCOMPLETE');
    const cmds = dryRun(dir, tcl, am, 'xilinx.com:au50:part0:1.3');
    expect(cmds.find((c) => c[0] === 'create_project' && c.includes('xcu50-fsvh2104-2-e'))).toBeDefined();
    expect(cmds.find((c) => c[0] === 'get_board_parts' && c.includes('*:au50:*'))).toBeDefined();
    expect(cmds.find((c) => c[0] === 'set_property' && c[1] === 'board_part' && c[2] === 'xilinx.com:au50:part0:1.3')).toBeDefined();
    expectBoardInterfaces(cmds, readFileSync(tcl, 'utf8'), readFileSync(join(dir, 'vivado', `${name}_pcie.xdc`), 'utf8'));
  });
});
