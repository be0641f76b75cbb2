"""The reports the plan requires, written by the product: 普九月报, the quarterly 通报, the evaluation."""
