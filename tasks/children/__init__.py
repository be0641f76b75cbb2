"""The rules about a child: students, facts and the tasks they call for."""
