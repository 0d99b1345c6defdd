-- loses: analysis_due
DROP TABLE analysis_due;
