"""Fee models: commission and taxes of one fill, in ``Decimal`` quantized to the currency.

``trading_config.fees`` names one (``{"type": "vn_default", "commission_rate": 0.0025}``); the
default is ``vn_default`` on Vietnamese boards and ``us_default`` in the US. The engine calls
``fees(fill)`` for every fill whose broker reported none (the simulated broker never does;
Alpaca's trade updates carry no commission either).

``vn_default``
    Brokerage commission ``commission_rate`` of the notional (default 0.15 %, typical of
    Vietnamese online brokers; at least ``min_commission`` VND per fill, default 0) on both
    sides, and the personal income tax on securities transfers, ``sales_tax_rate`` (0.1 %) of
    the notional of every **sell**.
``us_default``
    Zero commission (Alpaca's), optionally ``commission_per_share``; with
    ``regulatory_fees: true`` the SEC Section 31 fee (``sec_fee_rate`` of the sell notional,
    default 0.0000278 = $27.80 per million) and the FINRA trading activity fee
    (``taf_per_share`` $0.000166 per share sold, at most ``taf_max`` $8.30 per fill) on sells,
    each rounded **up** to the cent as the regulators bill them. No tax.
``zero``
    Nothing, ever (for tests and frictionless studies).

Every amount is computed on the exact notional ``quantity * price`` and rounded once:
half-up to the minor unit (VND 0, USD 2 decimals) unless said otherwise.
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal
from typing import Any, ClassVar

from core.orders import CURRENCY_DECIMALS, Fill, OrderSide, quantize_money, to_decimal

ZERO = Decimal(0)
ZERO_FEES = {code: quantize_money(ZERO, code) for code in CURRENCY_DECIMALS}
"""Zero in each currency's minor unit (``0.00`` USD, ``0`` VND)."""


def _rate(value: Any, name: str) -> Decimal:
    rate = to_decimal(value)
    if rate < 0:
        raise ValueError(f"fee model option {name} must be >= 0, was {value!r}")
    return rate


def _up_to_minor_unit(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-CURRENCY_DECIMALS[currency]), rounding=ROUND_UP)


class VietnamFees:
    """Vietnamese brokerage commission on both sides plus 0.1 % tax on sells."""

    name: ClassVar[str] = "vn_default"
    description: ClassVar[str] = (
        "Vietnam: commission 0.15 % of notional (configurable), 0.1 % sales tax on sells"
    )

    def __init__(
        self,
        currency: str = "VND",
        commission_rate: Any = "0.0015",
        min_commission: Any = 0,
        sales_tax_rate: Any = "0.001",
    ) -> None:
        self.currency = currency
        self.commission_rate = _rate(commission_rate, "commission_rate")
        self.min_commission = _rate(min_commission, "min_commission")
        self.sales_tax_rate = _rate(sales_tax_rate, "sales_tax_rate")

    def fees(self, fill: Fill) -> tuple[Decimal, Decimal]:
        notional = fill.price * fill.quantity
        commission = quantize_money(notional * self.commission_rate, self.currency)
        commission = max(commission, quantize_money(self.min_commission, self.currency))
        tax = ZERO
        if fill.side is OrderSide.SELL:
            tax = quantize_money(notional * self.sales_tax_rate, self.currency)
        return commission, tax


class USFees:
    """US equities: zero commission; optional SEC and FINRA TAF fees on sells."""

    name: ClassVar[str] = "us_default"
    description: ClassVar[str] = (
        "US: zero commission; optional SEC fee and FINRA TAF on sells (regulatory_fees)"
    )

    def __init__(
        self,
        currency: str = "USD",
        commission_per_share: Any = 0,
        regulatory_fees: bool = False,
        sec_fee_rate: Any = "0.0000278",
        taf_per_share: Any = "0.000166",
        taf_max: Any = "8.30",
    ) -> None:
        self.currency = currency
        self.commission_per_share = _rate(commission_per_share, "commission_per_share")
        self.regulatory_fees = bool(regulatory_fees)
        self.sec_fee_rate = _rate(sec_fee_rate, "sec_fee_rate")
        self.taf_per_share = _rate(taf_per_share, "taf_per_share")
        self.taf_max = _rate(taf_max, "taf_max")

    def fees(self, fill: Fill) -> tuple[Decimal, Decimal]:
        commission = ZERO_FEES[self.currency]
        if self.commission_per_share:
            commission = quantize_money(self.commission_per_share * fill.quantity, self.currency)
        if self.regulatory_fees and fill.side is OrderSide.SELL:
            notional = fill.price * fill.quantity
            sec = _up_to_minor_unit(notional * self.sec_fee_rate, self.currency)
            taf = min(
                _up_to_minor_unit(self.taf_per_share * fill.quantity, self.currency), self.taf_max
            )
            commission += sec + taf
        return commission, ZERO


class ZeroFees:
    """No commission and no tax."""

    name: ClassVar[str] = "zero"
    description: ClassVar[str] = "No commission, no tax"

    def __init__(self, currency: str = "USD") -> None:
        self.currency = currency

    def fees(self, fill: Fill) -> tuple[Decimal, Decimal]:
        return ZERO, ZERO


FEE_MODELS: tuple[type, ...] = (VietnamFees, USFees, ZeroFees)
