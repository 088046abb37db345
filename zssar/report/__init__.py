"""Result tables, figures, paper-reported numbers and paired comparisons (`zssar report`, `zssar compare`)."""
