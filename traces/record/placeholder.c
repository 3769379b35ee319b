/* placeholder.c - keeps the recorder's build rule working until the recorder lands. */
int pmarena_record_placeholder;
