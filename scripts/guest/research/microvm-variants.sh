#!/usr/bin/env bash
# Research: boots -M microvm under TCG N times per variant and counts ready markers.
# Usage: microvm-variants.sh [runs] [deadline_s]   (results on stdout, one line per variant)
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-8}
deadline=${2:-12}
khz=$(awk -F': *' '/^cpu MHz/{printf "%d", $2*1000; exit}' /proc/cpuinfo)
variant() { # name append qemu-args...
  local name=$1 append=$2
  shift 2
  local s
  s=$(python3 vmprobe.py --runs "$runs" --deadline "$deadline" --append "$append" -- "$@" | tail -n1)
  echo "$name | append='$append' | qemu: $* | $s"
}
for v in ${VARIANTS:-base lpj tsckhz pit rtcpitpic smp2 cpumax icount acpioff}; do
  case $v in
    base) variant base "" -M microvm -accel tcg -m 512 ;;
    lpj) variant lpj "lpj=10384460" -M microvm -accel tcg -m 512 ;;
    tsckhz) variant tsc_early_khz "tsc_early_khz=$khz" -M microvm -accel tcg -m 512 ;;
    pit) variant pit=on "" -M microvm,pit=on -accel tcg -m 512 ;;
    rtcpitpic) variant rtc+pit+pic "" -M microvm,rtc=on,pit=on,pic=on -accel tcg -m 512 ;;
    smp2) variant smp2 "" -M microvm -accel tcg -m 512 -smp 2 ;;
    cpumax) variant cpu-max "" -M microvm -accel tcg -m 512 -cpu max ;;
    icount) variant icount "" -M microvm -accel tcg -m 512 -icount shift=auto ;;
    acpioff) variant acpi=off "" -M microvm,acpi=off -accel tcg -m 512 ;;
    tsckhz_smp2) variant tsc_early_khz+smp2 "tsc_early_khz=$khz" -M microvm -accel tcg -m 512 -smp 2 ;;
    tsckhz_pcie) variant tsc_early_khz+pcie "tsc_early_khz=$khz" -M microvm,pcie=on -accel tcg -m 512 ;;
    q35) variant q35 "" -M q35 -accel tcg -m 512 ;;
  esac
done
