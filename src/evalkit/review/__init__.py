"""Human review of a run: a queue of trials (or grades), labelled in the terminal or in
a spreadsheet, stored append-only beside the machine's grades."""
