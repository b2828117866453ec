"""Tests for ais.billing.money: what people may type as amounts and numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ais.billing import money
from ais.billing.money import (
    MAX_AMOUNT,
    InvalidAmount,
    from_minor_units,
    parse_amount,
    parse_decimal,
    round_half_up,
    to_minor_units,
)

MAX_CENTS = 99999999999
valid_amounts = st.integers(min_value=1, max_value=MAX_CENTS).map(from_minor_units)


# -- parse_amount: accepted --------------------------------------------------


@settings(max_examples=200)
@given(valid_amounts)
def test_parse_amount_round_trips_str_of_any_valid_amount(amount):
    assert parse_amount(str(amount)) == amount
    assert parse_amount(f"{amount:f}") == amount


@settings(max_examples=200)
@given(valid_amounts)
def test_parse_amount_accepts_correctly_grouped_thousands(amount):
    assert parse_amount(f"{amount:,}") == amount


@settings(max_examples=100)
@given(valid_amounts)
def test_parse_amount_result_always_has_exactly_two_places_even_when_typed_with_fewer(amount):
    typed = f"{amount:f}".rstrip("0").rstrip(".")
    result = parse_amount(typed)
    assert result == amount
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "text, expected",
    [
        ("10.50", "10.50"),
        ("10.5", "10.50"),
        ("10", "10.00"),
        ("  1500.00\t", "1500.00"),
        ("50,000.00", "50000.00"),
        ("1,234,567.89", "1234567.89"),
        ("0.01", "0.01"),
        (".75", "0.75"),
        ("999999999.99", "999999999.99"),
        ("999,999,999.99", "999999999.99"),
    ],
)
def test_parse_amount_accepts_plain_amounts_and_pads_to_two_places(text, expected):
    result = parse_amount(text)
    assert result == Decimal(expected)
    assert str(result) == expected


def test_parse_amount_accepts_decimal_and_int_from_service_callers():
    assert str(parse_amount(Decimal("10.5"))) == "10.50"
    assert str(parse_amount(Decimal("10.500"))) == "10.50"
    assert str(parse_amount(7)) == "7.00"


# -- parse_amount: refused -----------------------------------------------------


@settings(max_examples=200)
@given(st.integers(min_value=1, max_value=MAX_CENTS * 10).filter(lambda n: n % 10))
def test_parse_amount_refuses_three_decimal_values_instead_of_rounding(thousandths):
    text = f"{Decimal(thousandths).scaleb(-3):f}"
    with pytest.raises(InvalidAmount, match="at most 2 decimal places"):
        parse_amount(text)


def test_parse_amount_never_rounds_half_a_cent():
    with pytest.raises(InvalidAmount) as error:
        parse_amount("10.005")
    assert str(error.value) == "Enter an amount with at most 2 decimal places."


def test_parse_amount_refuses_trailing_zero_third_decimal_in_text_because_it_may_be_a_thousands_dot():
    with pytest.raises(InvalidAmount, match="at most 2 decimal places"):
        parse_amount("10.500")


@pytest.mark.parametrize("text", ["0", "0.00", "-0", "-5", "-0.01", "-5.001", "-50,000.00"])
def test_parse_amount_refuses_zero_and_negatives(text):
    with pytest.raises(InvalidAmount) as error:
        parse_amount(text)
    assert str(error.value) == "Enter an amount greater than zero."


@settings(max_examples=100)
@given(valid_amounts)
def test_parse_amount_refuses_every_negative_amount(amount):
    with pytest.raises(InvalidAmount, match="greater than zero"):
        parse_amount(f"-{amount}")


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "nan",
        "-NaN",
        "sNaN",
        "inf",
        "Inf",
        "-inf",
        "Infinity",
        "-Infinity",
        "1e3",
        "1E3",
        "1e-2",
        "1.5e2",
        "abc",
        "12abc",
        "1.2.3",
        "5.",
        "-",
        "+",
        ".",
        "1 000",
        "$5",
        "0x10",
        "1_000",
        "٣",
        "10.5.",
        "(5)",
    ],
)
def test_parse_amount_refuses_non_plain_numbers(text):
    with pytest.raises(InvalidAmount) as error:
        parse_amount(text)
    assert str(error.value) == "Enter a number, like 1500.00."


@pytest.mark.parametrize(
    "text, expected",
    [("₱500", "500.00"), ("₱ 1,000.50", "1000.50"), ("PHP 2,500", "2500.00"), ("php12.30", "12.30"), (" ₱7 ", "7.00")],
)
def test_parse_amount_accepts_the_peso_written_before_the_number(text, expected):
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["₱", "₱₱500", "500₱", "₱-5", "$500", "P500 PHP", "₱1e3"])
def test_parse_amount_refuses_other_currency_writing(text):
    with pytest.raises(InvalidAmount):
        parse_amount(text)


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_parse_amount_refuses_empty_input(text):
    with pytest.raises(InvalidAmount) as error:
        parse_amount(text)
    assert str(error.value) == "Enter an amount."


@pytest.mark.parametrize("text", ["5,0000", "50,00", "0,500", "1,23,456", ",500", "500,", "1,,000"])
def test_parse_amount_refuses_commas_that_are_not_thousands_grouping(text):
    with pytest.raises(InvalidAmount):
        parse_amount(text)


@pytest.mark.parametrize("text", ["1000000000", "1,000,000,000.00", "999999999.999", "1e100"])
def test_parse_amount_refuses_absurdly_large_amounts(text):
    with pytest.raises(InvalidAmount):
        parse_amount(text)


def test_parse_amount_says_too_large_above_the_maximum():
    with pytest.raises(InvalidAmount) as error:
        parse_amount(str(MAX_AMOUNT + Decimal("0.01")))
    assert str(error.value) == "That amount is too large."


@settings(max_examples=100)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_parse_amount_refuses_every_float(value):
    with pytest.raises(InvalidAmount):
        parse_amount(value)


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"), True, None, [], b"10"]
)
def test_parse_amount_refuses_non_numbers_from_service_callers(value):
    with pytest.raises(InvalidAmount):
        parse_amount(value)


def test_parse_amount_refuses_decimal_with_fraction_of_a_cent():
    with pytest.raises(InvalidAmount, match="at most 2 decimal places"):
        parse_amount(Decimal("10.005"))


@settings(max_examples=200)
@given(st.text(max_size=20))
def test_parse_amount_either_returns_a_valid_amount_or_raises_invalid_amount(text):
    try:
        result = parse_amount(text)
    except InvalidAmount as error:
        assert str(error).endswith(".")
    else:
        assert Decimal("0.01") <= result <= MAX_AMOUNT
        assert result.as_tuple().exponent == -2


def test_invalid_amount_is_a_value_error():
    assert issubclass(InvalidAmount, ValueError)


# -- parse_decimal -------------------------------------------------------------


@settings(max_examples=200)
@given(st.integers(min_value=1, max_value=10**12), st.integers(min_value=0, max_value=4))
def test_parse_decimal_round_trips_values_within_the_allowed_places(units, places):
    value = Decimal(units).scaleb(-places)
    result = parse_decimal(f"{value:f}", places=places)
    assert result == value
    assert result.as_tuple().exponent == -places


@settings(max_examples=200)
@given(st.integers(min_value=1, max_value=10**12).filter(lambda n: n % 10), st.integers(min_value=0, max_value=4))
def test_parse_decimal_refuses_one_place_too_many_and_names_the_limit(units, places):
    value = Decimal(units).scaleb(-(places + 1))
    with pytest.raises(InvalidAmount) as error:
        parse_decimal(f"{value:f}", places=places, field="quantity")
    if places:
        assert f"at most {places} decimal place" in str(error.value)
    else:
        assert "whole number" in str(error.value)


def test_parse_decimal_quantity_allows_three_places():
    assert str(parse_decimal("2.125", places=3, field="quantity")) == "2.125"
    assert str(parse_decimal("2", places=3, field="quantity")) == "2.000"


def test_parse_decimal_quantity_refuses_four_places_with_the_limit_in_the_message():
    with pytest.raises(InvalidAmount) as error:
        parse_decimal("1.2345", places=3, field="quantity")
    assert str(error.value) == "Quantity can have at most 3 decimal places."


def test_parse_decimal_unit_price_allows_four_places():
    assert str(parse_decimal("12.3456", places=4, field="unit price")) == "12.3456"


@pytest.mark.parametrize("text", ["0", "0.00", "12", "100", "100.00", "12.5"])
def test_parse_decimal_tax_rate_accepts_zero_to_one_hundred(text):
    result = parse_decimal(text, places=2, minimum=0, maximum=100, allow_zero=True, field="tax rate")
    assert result == Decimal(text)


@pytest.mark.parametrize("text", ["100.01", "101", "-0.01", "-5"])
def test_parse_decimal_tax_rate_refuses_outside_zero_to_one_hundred(text):
    with pytest.raises(InvalidAmount):
        parse_decimal(text, places=2, minimum=0, maximum=100, allow_zero=True, field="tax rate")


def test_parse_decimal_message_names_the_maximum():
    with pytest.raises(InvalidAmount) as error:
        parse_decimal("101", places=2, minimum=0, maximum=100, allow_zero=True, field="tax rate")
    assert str(error.value) == "Tax rate must be at most 100."


def test_parse_decimal_message_names_the_minimum():
    with pytest.raises(InvalidAmount) as error:
        parse_decimal("0.5", places=3, minimum=Decimal("1"), field="quantity")
    assert str(error.value) == "Quantity must be at least 1."


def test_parse_decimal_refuses_zero_unless_allowed():
    with pytest.raises(InvalidAmount, match="greater than zero"):
        parse_decimal("0", places=3, field="quantity")
    assert parse_decimal("0", places=3, allow_zero=True) == 0


def test_parse_decimal_refuses_negatives_without_a_minimum():
    with pytest.raises(InvalidAmount):
        parse_decimal("-1", places=3)
    with pytest.raises(InvalidAmount, match="cannot be negative"):
        parse_decimal("-1", places=3, allow_zero=True)


def test_parse_decimal_allows_negatives_down_to_an_explicit_negative_minimum():
    assert parse_decimal("-1.5", places=2, minimum=-10) == Decimal("-1.50")


@pytest.mark.parametrize("text", ["NaN", "sNaN", "inf", "-Infinity", "1e3", "abc", "1,0"])
def test_parse_decimal_refuses_non_plain_numbers(text):
    with pytest.raises(InvalidAmount):
        parse_decimal(text, places=4, field="unit price")


def test_parse_decimal_refuses_floats():
    with pytest.raises(InvalidAmount):
        parse_decimal(1.5, places=3)


def test_parse_decimal_refuses_empty_input_naming_the_field():
    with pytest.raises(InvalidAmount) as error:
        parse_decimal(" ", places=3, field="quantity")
    assert str(error.value) == "Enter a value for quantity."


def test_parse_decimal_accepts_grouped_thousands():
    assert parse_decimal("1,250.5", places=3, field="quantity") == Decimal("1250.5")


# -- round_half_up -------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("0.005", "0.01"),
        ("0.004", "0.00"),
        ("2.675", "2.68"),
        ("2.665", "2.67"),  # banker's rounding would give 2.66
        ("-0.005", "-0.01"),
        ("10", "10.00"),
        ("1.2345678", "1.23"),
    ],
)
def test_round_half_up_rounds_halves_away_from_zero(value, expected):
    result = round_half_up(Decimal(value))
    assert str(result) == expected


@settings(max_examples=200)
@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=0, max_value=8))
def test_round_half_up_is_within_half_a_cent_and_has_two_places(units, places):
    value = Decimal(units).scaleb(-places)
    result = round_half_up(value)
    assert result.as_tuple().exponent == -2
    assert abs(result - value) <= Decimal("0.005")


def test_round_half_up_refuses_floats():
    with pytest.raises(TypeError):
        round_half_up(0.005)


def test_round_half_up_works_beyond_the_default_28_digit_precision():
    value = Decimal("1234567890123456789012345678.905")
    assert str(round_half_up(value)) == "1234567890123456789012345678.91"


# -- minor units ---------------------------------------------------------------


@settings(max_examples=200)
@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_minor_units_round_trip_exactly(cents):
    amount = from_minor_units(cents)
    assert amount.as_tuple().exponent == -2
    assert to_minor_units(amount) == cents


def test_minor_units_examples():
    assert to_minor_units(Decimal("12.34")) == 1234
    assert to_minor_units(Decimal("12.3")) == 1230
    assert to_minor_units(Decimal("12")) == 1200
    assert str(from_minor_units(1234)) == "12.34"
    assert str(from_minor_units(0)) == "0.00"
    assert str(from_minor_units(5)) == "0.05"


def test_to_minor_units_refuses_a_fraction_of_a_cent():
    with pytest.raises(ValueError):
        to_minor_units(Decimal("1.001"))


def test_to_minor_units_refuses_floats_and_non_finite():
    with pytest.raises(TypeError):
        to_minor_units(1.5)
    with pytest.raises(ValueError):
        to_minor_units(Decimal("NaN"))


def test_from_minor_units_refuses_non_int():
    with pytest.raises(TypeError):
        from_minor_units(1.5)
    with pytest.raises(TypeError):
        from_minor_units(True)


def test_money_module_has_no_float_literals_or_float_calls():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(money))
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), "float literal"
        assert not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "float"), "float() call"
