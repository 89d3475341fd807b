// The `virtbench` command. Commands are added by the reports issue; see README.md.
return 0;
