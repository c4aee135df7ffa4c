// Filled by the explorer issue.
