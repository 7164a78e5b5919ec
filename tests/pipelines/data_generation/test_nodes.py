"""The synthetic PaySim generator: schema, CSV format, determinism and PaySim's statistics.

Statistics are checked on 200,000 rows (the default size) with tolerances wide enough for
any seed; no SparkSession is needed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from fraud_detection.pipelines.data_generation import create_pipeline
from fraud_detection.pipelines.data_generation.nodes import generate_transactions
from fraud_detection.simulation import GenerationParams

PARAMETERS_FILE = Path(__file__).parents[3] / "conf" / "base" / "parameters_data_generation.yml"

HEADER = (
    "step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,"
    "oldbalanceDest,newbalanceDest,isFraud,isFlaggedFraud"
)
KAGGLE_LINE = "1,PAYMENT,9839.64,C1231006815,170136.0,160296.36,M1979787155,0.0,0.0,0,0"
MONEY = r"\d+\.\d{1,2}"
LINE = re.compile(
    rf"^\d+,(CASH_OUT|PAYMENT|CASH_IN|TRANSFER|DEBIT),{MONEY},C\d+,{MONEY},{MONEY},"
    rf"[CM]\d+,{MONEY},{MONEY},[01],[01]$"
)
DTYPES = {
    "step": "int64",
    "type": "object",
    "amount": "float64",
    "nameOrig": "object",
    "oldbalanceOrg": "float64",
    "newbalanceOrig": "float64",
    "nameDest": "object",
    "oldbalanceDest": "float64",
    "newbalanceDest": "float64",
    "isFraud": "int64",
    "isFlaggedFraud": "int64",
}
# PaySim (Kaggle file) proportions and amounts.
PAYSIM_TYPE_SHARE = {
    "CASH_OUT": 0.352, "PAYMENT": 0.338, "CASH_IN": 0.220, "TRANSFER": 0.084, "DEBIT": 0.0065,
}
PAYSIM_MEDIAN, PAYSIM_MEAN = 74_872.0, 179_862.0


def _cents(values: pd.Series) -> np.ndarray:
    return np.rint(values.to_numpy() * 100).astype(np.int64)


@pytest.fixture(scope="module")
def params() -> dict:
    """The project's parameters, exactly as Kedro passes them to the node."""
    return yaml.safe_load(PARAMETERS_FILE.read_text())["data_generation"]


@pytest.fixture(scope="module")
def transactions(params) -> pd.DataFrame:
    return generate_transactions(params)


@pytest.fixture(scope="module")
def frauds(transactions) -> pd.DataFrame:
    return transactions[transactions["isFraud"] == 1]


# --- contract ---------------------------------------------------------------------------


def test_pipeline_has_one_node_from_parameters_to_raw_csv():
    nodes = create_pipeline().nodes
    assert len(nodes) == 1
    node = nodes[0]
    assert node.name == "generate_transactions"
    assert node.func is generate_transactions
    assert node.inputs == ["params:data_generation"]
    assert node.outputs == ["raw_transactions@pandas"]


def test_parameter_file_documents_every_knob_with_the_code_defaults(params):
    assert params["n_rows"] == 200_000
    assert params["seed"] == 42
    defaults = GenerationParams(n_rows=1, seed=0).model_dump()
    assert set(params) == set(defaults)
    for name, value in params.items():
        if name not in ("n_rows", "seed"):
            assert value == defaults[name], name
    text = PARAMETERS_FILE.read_text()
    for name in params:  # every knob has a comment line right above it
        assert re.search(rf"#[^\n]*\n\s+{name}:", text), f"{name} has no comment"


# --- schema and file format -------------------------------------------------------------


def test_columns_and_dtypes(transactions):
    assert list(transactions.columns) == HEADER.split(",")
    assert transactions.dtypes.astype(str).to_dict() == DTYPES
    assert isinstance(transactions.index, pd.RangeIndex)


def test_csv_looks_like_the_kaggle_file(transactions, frauds):
    assert LINE.match(KAGGLE_LINE)
    sample = pd.concat([transactions.head(5_000), transactions.tail(5_000), frauds])
    lines = sample.to_csv(index=False).splitlines()
    assert lines[0] == HEADER
    bad = [line for line in lines[1:] if not LINE.match(line)]
    assert not bad, bad[:5]


def test_values_are_well_formed(transactions):
    money = ["amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest"]
    for name in money:
        values = transactions[name]
        assert (values >= 0).all(), name
        assert np.array_equal(_cents(values) / 100.0, values.to_numpy()), f"{name} not 2 decimals"
    assert (transactions["amount"] > 0).all()
    assert transactions["amount"].max() <= 92_445_516.15
    assert set(transactions["type"]) == set(PAYSIM_TYPE_SHARE)
    assert transactions["nameOrig"].str.fullmatch(r"C\d+").all()
    merchant = transactions["type"] == "PAYMENT"
    assert transactions.loc[merchant, "nameDest"].str.fullmatch(r"M\d+").all()
    assert transactions.loc[~merchant, "nameDest"].str.fullmatch(r"C\d+").all()
    assert (transactions.loc[merchant, ["oldbalanceDest", "newbalanceDest"]] == 0).all().all()


def test_steps_are_sorted_in_range_and_quieter_at_night(transactions):
    step = transactions["step"]
    assert step.is_monotonic_increasing
    assert step.min() == 1 and step.max() == 743
    hour = (step - 1) % 24
    night, day = (hour < 8).mean() / 8, ((hour >= 10) & (hour < 20)).mean() / 10
    assert night < 0.5 * day


# --- size, determinism, validation ------------------------------------------------------


@pytest.mark.parametrize("n_rows", [1, 2, 7, 1_000, 12_345])
def test_row_count_is_exact(n_rows):
    assert len(generate_transactions({"n_rows": n_rows, "seed": 3})) == n_rows


def test_same_seed_same_frame_other_seed_other_frame():
    first = generate_transactions({"n_rows": 20_000, "seed": 7})
    pd.testing.assert_frame_equal(first, generate_transactions({"n_rows": 20_000, "seed": 7}))
    assert not first.equals(generate_transactions({"n_rows": 20_000, "seed": 8}))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"n_rows": 0}, "n_rows"),
        ({"n_rows": -5}, "n_rows"),
        ({"n_rows": 1.5}, "n_rows"),
        ({"n_rows": "100"}, "n_rows"),
        ({"n_rows": True}, "n_rows"),
        ({"n_rows": None}, "n_rows"),
        ({"seed": -1}, "seed"),
        ({"seed": "x"}, "seed"),
        ({"fraud_rate": 2.0}, "fraud_rate"),
        ({"fraud_rate": -0.1}, "fraud_rate"),
        ({"mean_transactions_per_customer": 0.5}, "mean_transactions_per_customer"),
        ({"max_amount": float("nan")}, "max_amount"),
        ({"night_activity": 1.5}, "night_activity"),
        ({"type_mix": {"CASH_OUT": 1.0}}, "type_mix"),
        ({"type_mix": {"CASH_OUT": -1, "PAYMENT": 1, "CASH_IN": 1, "TRANSFER": 1, "DEBIT": 1}},
         "type_mix.CASH_OUT"),
        ({"type_mix": dict.fromkeys(PAYSIM_TYPE_SHARE, 0.0)}, "type_mix"),
        ({"type_mix": {**PAYSIM_TYPE_SHARE, "WIRE": 1.0}}, "type_mix.WIRE"),
        ({"median_amount_by_type": "big"}, "median_amount_by_type"),
        ({"median_amount_by_type": {**PAYSIM_TYPE_SHARE, "DEBIT": 0}},
         "median_amount_by_type.DEBIT"),
        ({"max_amount": float("inf")}, "max_amount"),
        ({"n_row": 10}, "n_row"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(change, named):
    """Each refusal is located at the parameter (or the type inside a per-type mapping)."""
    with pytest.raises(ValidationError) as raised:
        generate_transactions({"n_rows": 100, "seed": 1, **change})
    located = {".".join(map(str, error["loc"])) for error in raised.value.errors()}
    assert named in located or {key.rsplit(".", 1)[0] for key in located} == {named}, located
    assert str(raised.value).startswith("1 validation error for data_generation\n") or (
        "validation errors for data_generation\n" in str(raised.value))


@pytest.mark.parametrize("missing", ["n_rows", "seed"])
def test_missing_required_parameter_raises(missing):
    params = {"n_rows": 100, "seed": 1}
    del params[missing]
    with pytest.raises(ValidationError, match=f"for data_generation\n{missing}\n  Field required"):
        generate_transactions(params)


def test_parameters_must_be_a_mapping():
    with pytest.raises(ValidationError, match="for data_generation\n  Input should be a valid "
                                              "dictionary"):
        generate_transactions([("n_rows", 10)])


def test_typed_parameters_are_used_as_they_are():
    """Kedro hands the node the GenerationParams it built; a dict gives the same rows."""
    typed = GenerationParams(n_rows=500, seed=4, fraud_rate=0.05)
    pd.testing.assert_frame_equal(
        generate_transactions(typed),
        generate_transactions({"n_rows": 500, "seed": 4, "fraud_rate": 0.05}),
    )


# --- PaySim statistics ------------------------------------------------------------------


def test_type_mix_matches_paysim(transactions):
    share = transactions["type"].value_counts(normalize=True)
    for name, expected in PAYSIM_TYPE_SHARE.items():
        assert share[name] == pytest.approx(expected, abs=0.015), name


def test_amounts_match_paysim(transactions):
    assert transactions["amount"].median() == pytest.approx(PAYSIM_MEDIAN, rel=0.3)
    assert transactions["amount"].mean() == pytest.approx(PAYSIM_MEAN, rel=0.3)


def test_fraud_rate_and_types(transactions, frauds):
    assert 0.0008 <= len(frauds) / len(transactions) <= 0.002
    assert set(frauds["type"]) == {"TRANSFER", "CASH_OUT"}
    counts = frauds["type"].value_counts()
    assert abs(counts["TRANSFER"] - counts["CASH_OUT"]) <= 0.1 * len(frauds)


def test_fraud_empties_the_origin_account(frauds):
    assert (frauds["amount"] == frauds["oldbalanceOrg"]).all()
    assert (frauds["newbalanceOrig"] == 0).all()


def test_about_half_of_frauds_show_zero_destination_balances(frauds):
    zero = (frauds["oldbalanceDest"] == 0) & (frauds["newbalanceDest"] == 0)
    assert 0.3 <= zero.mean() <= 0.7


def test_fraud_is_a_transfer_to_a_mule_who_cashes_out(frauds):
    transfers = frauds[frauds["type"] == "TRANSFER"]
    cash_outs = frauds[frauds["type"] == "CASH_OUT"].set_index("nameOrig")
    assert transfers["nameDest"].isin(cash_outs.index).all()
    mule = cash_outs.loc[transfers["nameDest"]]
    assert (mule["amount"].to_numpy() == transfers["amount"].to_numpy()).all()
    assert (mule["step"].to_numpy() >= transfers["step"].to_numpy()).all()


def test_honest_rows_are_not_trivially_separable(transactions):
    honest = transactions[
        (transactions["isFraud"] == 0) & transactions["type"].isin(["TRANSFER", "CASH_OUT"])
    ]
    zero_origin = (honest["oldbalanceOrg"] == 0) & (honest["newbalanceOrig"] == 0)
    assert 0.1 <= zero_origin.mean() <= 0.7
    emptied = (honest["amount"] == honest["oldbalanceOrg"]) & (honest["newbalanceOrig"] == 0)
    assert emptied.sum() > 0
    zero_dest = (honest["oldbalanceDest"] == 0) & (honest["newbalanceDest"] == 0)
    assert 0 < zero_dest.mean() < 0.01
    error_dest = honest["oldbalanceDest"] + honest["amount"] - honest["newbalanceDest"]
    assert (error_dest.abs() > 0.01).mean() > 0.05


def test_flag_is_only_set_on_large_fraudulent_transfers(transactions):
    flagged = transactions[transactions["isFlaggedFraud"] == 1]
    assert (flagged["isFraud"] == 1).all()
    assert (flagged["type"] == "TRANSFER").all()
    assert (flagged["amount"] > 200_000).all()
    assert len(flagged) <= 0.01 * transactions["isFraud"].sum() + 3  # rare


def test_flag_rule_when_every_eligible_transfer_is_flagged(params):
    data = generate_transactions({**params, "flag_rate": 1.0})
    eligible = (data["isFraud"] == 1) & (data["type"] == "TRANSFER") & (data["amount"] > 200_000)
    assert eligible.sum() > 0
    assert (data["isFlaggedFraud"] == eligible.astype("int64")).all()


# --- customer histories -----------------------------------------------------------------


def test_customers_have_histories(transactions):
    per_customer = transactions.groupby("nameOrig").size()
    assert per_customer.mean() >= 3
    assert (per_customer >= 5).mean() > 0.2


def test_fraud_is_much_larger_than_the_victims_usual_amounts(transactions, frauds):
    victims = frauds.loc[frauds["type"] == "TRANSFER", "nameOrig"]
    history = transactions[transactions["nameOrig"].isin(victims) & (transactions["isFraud"] == 0)]
    usual = history.groupby("nameOrig")["amount"].mean()
    stolen = frauds[frauds["type"] == "TRANSFER"].set_index("nameOrig")["amount"]
    ratio = (stolen.loc[usual.index] / usual).median()
    assert ratio > 3
    assert len(usual) >= 0.8 * len(victims)  # most victims have an earlier history


def test_balances_evolve_along_each_history_without_noise(params):
    quiet = {**params, "n_rows": 50_000, "untracked_balance_rate": 0.0, "stale_balance_rate": 0.0}
    data = generate_transactions(quiet)
    old, new, amount = (_cents(data[c]) for c in ("oldbalanceOrg", "newbalanceOrig", "amount"))
    sign = np.where(data["type"] == "CASH_IN", 1, -1)
    honest = (data["isFraud"] == 0).to_numpy() & (new != 0)
    assert (new[honest] == old[honest] + sign[honest] * amount[honest]).all()

    booked = data.assign(old=old, new=new)
    by_customer = booked.groupby("nameOrig", sort=False)  # keeps each customer's file order
    assert by_customer["step"].apply(lambda steps: steps.is_monotonic_increasing).all()
    carried = by_customer["new"].shift()  # the same customer's previous closing balance
    has_previous = carried.notna()
    assert has_previous.mean() > 0.5
    assert (carried[has_previous] == booked.loc[has_previous, "old"]).all()
    assert (old >= 0).all() and (new >= 0).all()
