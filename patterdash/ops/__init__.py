"""Operations: alert rules, their evaluation and webhook delivery."""
