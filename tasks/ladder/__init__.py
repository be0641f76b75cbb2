"""The suspected-dropout ladder of 附件1: cases, their steps, the printable forms."""
