/**
 * The card around the kernel: a Vivado block design script that puts the exported device top
 * (`<name>_device`, Vitis HLS `export_design -format ip_catalog`) behind an XDMA PCIe endpoint
 * on a named board, builds it to a bitstream, and the address map the driver needs to find the
 * kernel's registers in the BAR. Written into the firmware project as
 *
 *   vivado/<name>_bd.tcl        vivado -mode batch -source vivado/<name>_bd.tcl
 *   vivado/<name>_pcie.xdc      timing of the PCIe reference clock and PERST# (the pins come from the board files)
 *   vivado/address_map.json     BAR index, kernel offset, region bytes (fpga.regionOffsetBytes)
 *
 * Nothing here has been through Vivado (this machine has no vendor tools, and no card): the
 * script is checked by tclsh for syntax and by tests for the names and offsets it uses.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RegisterMap } from './regmap.js';

/**
 * The Vivado board interfaces (names in the board files' board.xml) that carry the PCIe pins:
 * XDMA's GT lanes (`CONFIG.PCIE_BOARD_INTERFACE`), its PERST# (`CONFIG.SYS_RST_N_BOARD_INTERFACE`)
 * and the slot's 100 MHz reference clock into util_ds_buf (`CONFIG.DIFF_CLK_IN_BOARD_INTERFACE`).
 */
export interface PcieBoardInterfaces {
  readonly lanes: string;
  readonly perstN: string;
  readonly refclk: string;
}

/** A board the block design knows: its part, its Vivado board files and their PCIe interfaces. */
export interface CardBoard {
  readonly name: string;
  readonly part: string;
  /** Glob of the Vivado board part (`get_board_parts`), so any installed file version matches. */
  readonly boardPartGlob: string;
  readonly pcie: PcieBoardInterfaces;
  readonly linkWidth: 'X1' | 'X2' | 'X4' | 'X8' | 'X16';
  readonly linkSpeed: '2.5_GT/s' | '5.0_GT/s' | '8.0_GT/s';
  /** Where the board part and interface names come from. */
  readonly source: string;
}

/**
 * The PCIe interfaces of AMD's Alveo board files: `pci_express_x16`, `pcie_perstn`, `pcie_refclk`.
 * These names are the ones XDMA/QDMA block designs on Alveo board parts set (e.g. FireSim's U250
 * XDMA design, platforms/xilinx_alveo_u250/cl_firesim/scripts/bd_lib/2022.1/create_bd_instances.tcl,
 * and the per-board QDMA settings of open-source NIC shells for au50/au55c/au250), found with the
 * code search of this project. Not checked against an installed board.xml here (no Vivado).
 */
const ALVEO_PCIE: PcieBoardInterfaces = { lanes: 'pci_express_x16', perstN: 'pcie_perstn', refclk: 'pcie_refclk' };

/**
 * Boards by part, each with Vivado board files (so the PCIe pins follow the board interfaces, no
 * hand-written pin constraints). The Alveo U50 carries the io plan's part (hls/compiler/parts.ts
 * `IO_PLAN_PART`: the cell students); the Alveo U250 the writer's default part (the others).
 * Both run XDMA as PCIe Gen3 x16 (AMD UG1289, Alveo card platforms: Gen3 x16 on both).
 */
export const CARD_BOARDS: Readonly<Record<string, CardBoard>> = {
  'xcu250-figd2104-2L-e': {
    name: 'Alveo U250',
    part: 'xcu250-figd2104-2L-e',
    boardPartGlob: '*:au250:*',
    pcie: ALVEO_PCIE,
    linkWidth: 'X16',
    linkSpeed: '8.0_GT/s',
    source: "Vivado board files xilinx.com:au250:part0 (Vivado's board store), UG1289",
  },
  'xcu50-fsvh2104-2-e': {
    name: 'Alveo U50',
    part: 'xcu50-fsvh2104-2-e',
    boardPartGlob: '*:au50:*',
    pcie: ALVEO_PCIE,
    linkWidth: 'X16',
    linkSpeed: '8.0_GT/s',
    source: "Vivado board files xilinx.com:au50:part0 (Vivado's board store), AMD DS965 and UG1289",
  },
};

/** XDMA's AXI-Lite master BAR (the Xilinx XDMA driver's /dev/xdma<N>_user) with the user path enabled. */
export const USER_BAR = 0;
/** The kernel sits at this offset in the BAR at least, so the low 64 KiB stay free for other AXI-Lite slaves on the card. */
const KERNEL_OFFSET_MIN = 0x10000;
const MIB = 1 << 20;

/** What the driver reads to find the kernel on the card (vivado/address_map.json). */
export interface AddressMap {
  readonly board: string;
  readonly part: string;
  /** The XDMA user device node and the BAR it maps. */
  readonly userDevice: string;
  readonly bar: number;
  readonly barBytes: number;
  /** Byte offset of the kernel's s_axi_control in the BAR: the config's fpga.regionOffsetBytes. */
  readonly kernelOffset: number;
  /** The address range assigned to the kernel (a power of two holding regionBytes). */
  readonly kernelRangeBytes: number;
  /** REGION_BYTES of regmap.json: what the driver maps from kernelOffset. */
  readonly regionBytes: number;
  readonly kernelVlnv: string;
  readonly clockMhz: number;
}

function pow2AtLeast(n: number): number {
  let p = 4096;
  while (p < n) p *= 2;
  return p;
}

/** The address map of `map`'s kernel on `board`: the range a power of two, the offset aligned to it. */
export function addressMap(map: RegisterMap, board: CardBoard): AddressMap {
  const kernelRangeBytes = pow2AtLeast(map.regionBytes);
  const kernelOffset = Math.max(KERNEL_OFFSET_MIN, kernelRangeBytes);
  const barBytes = Math.max(MIB, pow2AtLeast(kernelOffset + kernelRangeBytes));
  return {
    board: board.name, part: board.part, userDevice: '/dev/xdma0_user', bar: USER_BAR, barBytes, kernelOffset, kernelRangeBytes,
    regionBytes: map.regionBytes, kernelVlnv: kernelVlnv(map.name), clockMhz: map.clockKhz / 1000,
  };
}

/** The VLNV Vitis HLS gives the exported device top (vendor xilinx.com, library hls, version 1.0: export_design's defaults). */
export function kernelVlnv(name: string): string {
  return `xilinx.com:hls:${name}_device:1.0`;
}

/**
 * Writes vivado/<name>_bd.tcl, vivado/<name>_pcie.xdc and vivado/address_map.json into the
 * project `dir` for the board of `part`; returns the files, or [] when no board of CARD_BOARDS
 * has that part (nothing to put the kernel on).
 */
export function writeBlockDesign(dir: string, map: RegisterMap, part: string): string[] {
  const board = CARD_BOARDS[part];
  if (board === undefined) return [];
  const out = join(dir, 'vivado');
  mkdirSync(out, { recursive: true });
  const am = addressMap(map, board);
  const files = [join(out, `${map.name}_bd.tcl`), join(out, `${map.name}_pcie.xdc`), join(out, 'address_map.json')];
  writeFileSync(files[0]!, blockDesignTcl(map.name, board, am));
  writeFileSync(files[1]!, pcieXdc(board));
  writeFileSync(files[2]!, `${JSON.stringify(am, null, 2)}\n`);
  return files;
}

function hex(n: number): string {
  return `0x${n.toString(16).toUpperCase().padStart(8, '0')}`;
}

/**
 * What the board interfaces do not cover: they place the reference clock, PERST# and the GT lanes
 * and set their I/O standards, but write no timing. So the XDC holds only the 100 MHz clock on the
 * reference clock port and the false path from the asynchronous PERST#; no pin is named here.
 */
export function pcieXdc(board: CardBoard): string {
  return `# PCIe timing of the ${board.name} (${board.part}). Generated by hls/compiler/block-design.ts.
# The pins come from the board interfaces ${board.pcie.refclk}, ${board.pcie.perstN} and ${board.pcie.lanes}
# (${board.source}); board interfaces write no timing, so only that is here.
# 100 MHz reference clock from the slot, into the IBUFDS_GTE4 of util_ds_buf.
create_clock -name pcie_refclk -period 10.000 [get_ports ${board.pcie.refclk}_clk_p]
# PERST# from the slot (active low, asynchronous), XDMA's sys_rst_n.
set_false_path -from [get_ports ${board.pcie.perstN}]
`;
}

/** The project, the block design, its address map, and the run to a bitstream. */
export function blockDesignTcl(name: string, board: CardBoard, am: AddressMap): string {
  return `${tclHeader(name, board, am)}
${tclProject(name, board)}
${tclBlocks(name, board, am)}
${tclAddressAndBuild(name, am)}`;
}

function tclHeader(name: string, board: CardBoard, am: AddressMap): string {
  return `# ${name}_bd.tcl: the ${name} kernel behind an XDMA PCIe endpoint on the ${board.name}.
# Generated by hls/compiler/block-design.ts. Never run here (no Vivado on the build machine).
#
# 1. Export the kernel (the device top, ${name}_device) with Vitis HLS from the project folder; its
#    ip_catalog export is what ip_repo below points at.
# 2. From the project folder: vivado -mode batch -source vivado/${name}_bd.tcl [-tclargs IP_REPO]
#    -> vivado/${name}_card/${name}_card.bit, plus timing and utilisation reports beside it.
# The host reaches the kernel's registers through the XDMA user BAR (BAR${am.bar},
# /dev/xdma0_user with the Xilinx XDMA driver) at offset ${hex(am.kernelOffset)}: address_map.json.

set script_dir [file dirname [file normalize [info script]]]
set design ${name}_card
set part ${board.part}
set kernel_vlnv ${am.kernelVlnv}
set kernel_offset ${hex(am.kernelOffset)}
set kernel_range ${hex(am.kernelRangeBytes)}
set bar_mib ${am.barBytes / MIB}
set clock_mhz ${am.clockMhz}
if {[llength $argv] > 0} {
  set ip_repo [file normalize [lindex $argv 0]]
} else {
  set ip_repo [file normalize [file join $script_dir .. ${name}_device_prj solution1 impl ip]]
}
if {![file isdirectory $ip_repo]} {
  error "kernel IP repository $ip_repo not found: export the device top first (export_design -format ip_catalog), or pass its folder with -tclargs"
}
`;
}

function tclProject(name: string, board: CardBoard): string {
  return `# Project on the board's part, with its board files (Vivado's board store: ${board.boardPartGlob}).
create_project -force $design [file join $script_dir $design] -part $part
set board_part [lindex [lsort [get_board_parts -quiet -latest_file_version {${board.boardPartGlob}}]] end]
if {$board_part eq ""} {
  error "no board files for the ${board.name} (${board.boardPartGlob}): install them from Vivado's board store (xhub)"
}
set_property board_part $board_part [current_project]
set_property ip_repo_paths [list $ip_repo] [current_project]
update_ip_catalog
if {[llength [get_ipdefs -quiet $kernel_vlnv]] == 0} {
  error "$kernel_vlnv is not in $ip_repo: was the kernel exported from this firmware project?"
}
add_files -fileset constrs_1 -norecurse [file join $script_dir ${name}_pcie.xdc]
create_bd_design $design
`;
}

function tclBlocks(name: string, board: CardBoard, am: AddressMap): string {
  return `# XDMA: AXI memory-mapped DMA, with the AXI-Lite master (BAR${am.bar}, the "user" path) enabled.
set xdma [create_bd_cell -type ip -vlnv xilinx.com:ip:xdma xdma_0]
set_property -dict [list \\
  CONFIG.PCIE_BOARD_INTERFACE {${board.pcie.lanes}} \\
  CONFIG.SYS_RST_N_BOARD_INTERFACE {${board.pcie.perstN}} \\
  CONFIG.mode_selection {Advanced} \\
  CONFIG.functional_mode {DMA} \\
  CONFIG.xdma_axi_intf_mm {AXI_Memory_Mapped} \\
  CONFIG.pl_link_cap_max_link_width {${board.linkWidth}} \\
  CONFIG.pl_link_cap_max_link_speed {${board.linkSpeed}} \\
  CONFIG.axilite_master_en {true} \\
  CONFIG.axilite_master_size $bar_mib \\
  CONFIG.axilite_master_scale {Megabytes} \\
  CONFIG.xdma_rnum_chnl {1} \\
  CONFIG.xdma_wnum_chnl {1} \\
] $xdma

# The PCIe pins through the board interfaces (top-level ports named as the interfaces): the
# slot's reference clock through IBUFDS_GTE4, PERST# straight to sys_rst_n, the GT lanes.
set refbuf [create_bd_cell -type ip -vlnv xilinx.com:ip:util_ds_buf refclk_buf]
set_property -dict [list CONFIG.C_BUF_TYPE {IBUFDSGTE} CONFIG.DIFF_CLK_IN_BOARD_INTERFACE {${board.pcie.refclk}} CONFIG.USE_BOARD_FLOW {true}] $refbuf
create_bd_intf_port -mode Slave -vlnv xilinx.com:interface:diff_clock_rtl:1.0 ${board.pcie.refclk}
set_property CONFIG.FREQ_HZ 100000000 [get_bd_intf_ports ${board.pcie.refclk}]
connect_bd_intf_net [get_bd_intf_ports ${board.pcie.refclk}] [get_bd_intf_pins refclk_buf/CLK_IN_D]
connect_bd_net [get_bd_pins refclk_buf/IBUF_OUT] [get_bd_pins xdma_0/sys_clk_gt]
connect_bd_net [get_bd_pins refclk_buf/IBUF_DS_ODIV2] [get_bd_pins xdma_0/sys_clk]
create_bd_port -dir I -type rst ${board.pcie.perstN}
set_property CONFIG.POLARITY ACTIVE_LOW [get_bd_ports ${board.pcie.perstN}]
connect_bd_net [get_bd_ports ${board.pcie.perstN}] [get_bd_pins xdma_0/sys_rst_n]
create_bd_intf_port -mode Master -vlnv xilinx.com:interface:pcie_7x_mgt_rtl:1.0 ${board.pcie.lanes}
connect_bd_intf_net [get_bd_intf_ports ${board.pcie.lanes}] [get_bd_intf_pins xdma_0/pcie_mgt]

# The kernel's clock at the model's clock, from XDMA's axi_aclk; its reset from axi_aresetn.
set axi_mhz [expr {[get_property CONFIG.FREQ_HZ [get_bd_pins xdma_0/axi_aclk]] / 1.0e6}]
set clk [create_bd_cell -type ip -vlnv xilinx.com:ip:clk_wiz kernel_clk]
set_property -dict [list \\
  CONFIG.PRIM_IN_FREQ $axi_mhz \\
  CONFIG.PRIM_SOURCE {No_buffer} \\
  CONFIG.CLKOUT1_REQUESTED_OUT_FREQ $clock_mhz \\
  CONFIG.RESET_TYPE {ACTIVE_LOW} \\
  CONFIG.USE_LOCKED {true} \\
] $clk
connect_bd_net [get_bd_pins xdma_0/axi_aclk] [get_bd_pins kernel_clk/clk_in1]
connect_bd_net [get_bd_pins xdma_0/axi_aresetn] [get_bd_pins kernel_clk/resetn]
set rst [create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset kernel_rst]
connect_bd_net [get_bd_pins kernel_clk/clk_out1] [get_bd_pins kernel_rst/slowest_sync_clk]
connect_bd_net [get_bd_pins xdma_0/axi_aresetn] [get_bd_pins kernel_rst/ext_reset_in]
connect_bd_net [get_bd_pins kernel_clk/locked] [get_bd_pins kernel_rst/dcm_locked]

# The kernel: s_axi_control on the BAR through a SmartConnect that crosses from axi_aclk to the kernel's clock.
set kernel [create_bd_cell -type ip -vlnv $kernel_vlnv ${name}_device_0]
connect_bd_net [get_bd_pins kernel_clk/clk_out1] [get_bd_pins ${name}_device_0/ap_clk]
connect_bd_net [get_bd_pins kernel_rst/peripheral_aresetn] [get_bd_pins ${name}_device_0/ap_rst_n]
set sc [create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect control_sc]
set_property -dict [list CONFIG.NUM_SI {1} CONFIG.NUM_MI {1} CONFIG.NUM_CLKS {2}] $sc
connect_bd_net [get_bd_pins xdma_0/axi_aclk] [get_bd_pins control_sc/aclk]
connect_bd_net [get_bd_pins kernel_clk/clk_out1] [get_bd_pins control_sc/aclk1]
connect_bd_net [get_bd_pins xdma_0/axi_aresetn] [get_bd_pins control_sc/aresetn]
connect_bd_intf_net [get_bd_intf_pins xdma_0/M_AXI_LITE] [get_bd_intf_pins control_sc/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins control_sc/M00_AXI] [get_bd_intf_pins ${name}_device_0/s_axi_control]

# Autonomous mode's sensor stream in and trigger events out: ports of the card's top level,
# in the kernel's clock domain, for the sensor link and the trigger output the user adds.
make_bd_intf_pins_external [get_bd_intf_pins ${name}_device_0/sensor_in]
make_bd_intf_pins_external [get_bd_intf_pins ${name}_device_0/trigger_out]
set_property name sensor_in [get_bd_intf_ports sensor_in_0]
set_property name trigger_out [get_bd_intf_ports trigger_out_0]
`;
}

function tclAddressAndBuild(name: string, am: AddressMap): string {
  return `# The kernel's registers at a fixed offset in the user BAR (address_map.json): XDMA passes
# BAR offsets through to M_AXI_LITE addresses unchanged (no BAR-to-AXI translation set).
assign_bd_address -offset $kernel_offset -range $kernel_range -target_address_space [get_bd_addr_spaces xdma_0/M_AXI_LITE] [get_bd_addr_segs ${name}_device_0/s_axi_control/Reg] -force
set seg [get_bd_addr_segs -of_objects [get_bd_addr_spaces xdma_0/M_AXI_LITE] -filter {NAME =~ *${name}_device_0*}]
if {[get_property OFFSET $seg] != $kernel_offset} {
  error "the kernel landed at [get_property OFFSET $seg], not $kernel_offset: address_map.json would be wrong"
}
validate_bd_design
save_bd_design

# Wrapper, synthesis, implementation, bitstream; then the timing check (no bitstream is trusted
# with negative slack).
set bd_file [get_files [file join $script_dir $design $design.srcs sources_1 bd $design $design.bd]]
generate_target all $bd_file
set wrapper [make_wrapper -files $bd_file -top]
add_files -norecurse $wrapper
set_property top ${name}_card_wrapper [current_fileset]
update_compile_order -fileset sources_1
launch_runs synth_1 -jobs 8
wait_on_run synth_1
if {[get_property PROGRESS [get_runs synth_1]] ne "100%"} { error "synthesis failed: see [get_property DIRECTORY [get_runs synth_1]]" }
launch_runs impl_1 -to_step route_design -jobs 8
wait_on_run impl_1
if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} { error "implementation failed: see [get_property DIRECTORY [get_runs impl_1]]" }
open_run impl_1
report_timing_summary -file [file join $script_dir $design timing_summary.rpt]
report_utilization -file [file join $script_dir $design utilization.rpt]
set wns [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 -setup]]
if {$wns < 0} { error "timing not met: worst setup slack $wns ns (timing_summary.rpt)" }
write_bitstream -force [file join $script_dir $design $design.bit]
puts "bitstream: [file join $script_dir $design $design.bit]; kernel at BAR${am.bar} + $kernel_offset"
`;
}
