"""A board file's [chip]: the start-up code that sets the clock tree
(runtime_c/platform/chip_<kind>.c) and the settings it takes from llm_config.h.
Each kind says which keys it needs and what processor clock they give, which must
be the board's clock_mhz: the board file cannot claim a clock its settings do not make."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .errors import ToolchainError


@dataclass(frozen=True)
class ChipKind:
    keys: tuple[str, ...]              # the [chip] settings its start-up reads
    clock_mhz: Callable[[dict], float] | None  # the processor clock they give (None: the boot ROM's)


def _pll(source: str, m: str, n: str, *divs: str) -> Callable[[dict], float]:
    def clock(c: dict) -> float:
        f = c[source] / c[m] * c[n]
        for d in divs:
            f /= c[d]
        return f
    return clock


# RP2040 / RP2350: the 12 MHz crystal, PLL_SYS = crystal / refdiv x fbdiv / postdiv1 / postdiv2
_RP2_KEYS = ("crystal_mhz", "pll_refdiv", "pll_fbdiv", "pll_postdiv1", "pll_postdiv2")
RP2 = ChipKind(_RP2_KEYS, _pll(*_RP2_KEYS))

CHIP_KINDS = {
    # STM32F4: HSE crystal -> /M -> xN (VCO) -> /P = SYSCLK; Q for USB; wait states and APB dividers
    "stm32f4": ChipKind(("crystal_mhz", "pll_m", "pll_n", "pll_p", "pll_q", "flash_wait_states",
                         "apb1_div", "apb2_div"), _pll("crystal_mhz", "pll_m", "pll_n", "pll_p")),
    # STM32H7: PLL1 from HSE (a crystal, or the ST-LINK's 8 MHz clock: bypass), P to the
    # core; the bus prescalers and the voltage scale the core clock needs; the supply the
    # board is wired for (the LDO, or the H747's SMPS direct)
    "stm32h7": ChipKind(("crystal_mhz", "hse_bypass", "pll_m", "pll_n", "pll_p", "pll_q", "pll_r",
                         "flash_wait_states", "voltage_scale", "hpre_div", "apb_div", "smps_supply"),
                        _pll("crystal_mhz", "pll_m", "pll_n", "pll_p")),
    "rp2040": RP2,
    "rp2350": RP2,
    # nRF52: the core always runs at 64 MHz; start-up switches HFCLK to the 32 MHz crystal
    # (the UARTE's baud generator wants it) and turns the flash cache on
    "nrf52": ChipKind((), lambda c: 64),
    # i.MX RT1062 / RT1176: start-up stops the watchdogs the boot ROM leaves running and
    # keeps the ROM's clock tree (the board file's clock_mhz is that clock, unchecked)
    "imxrt1062": ChipKind((), None),
    "imxrt1176": ChipKind((), None),
}


def check_chip(board_file: str, chip: dict, clock_mhz: float) -> None:
    """Refuses a [chip] of an unknown kind, without its settings, or whose clock tree
    does not make the board's clock."""
    kind = CHIP_KINDS.get(chip.get("kind"))
    if kind is None:
        raise ToolchainError(f"board file {board_file}: [chip] kind must be one of {', '.join(CHIP_KINDS)}")
    missing = [k for k in kind.keys if k not in chip]
    if missing:
        raise ToolchainError(f"board file {board_file}: [chip] {chip['kind']} needs {', '.join(missing)}")
    made = kind.clock_mhz(chip) if kind.clock_mhz else clock_mhz
    if abs(made - clock_mhz) > 1e-6:
        raise ToolchainError(f"board file {board_file}: [chip] makes {made:g} MHz, not the board's {clock_mhz} MHz")


def chip_defines(chip: dict) -> list[tuple[str, int]]:
    """llm_config.h's LLM_CHIP_<KEY> values for the chip's start-up (booleans as 0/1)."""
    return [(key.upper(), int(chip[key])) for key in CHIP_KINDS[chip["kind"]].keys]
