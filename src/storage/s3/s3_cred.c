/* s3_cred.c - credentials and region from StorageS3Options: the access key pair, else a profile of the shared
 * credentials and config files (INI); secrets wiped when freed. */
#include "storage/s3/s3_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "common/buf.h"

void s3Wipe(char *s) {
    if (s != NULL)
        OPENSSL_cleanse(s, strlen(s));
}

void s3FreeSecret(char *s) {
    s3Wipe(s);
    free(s);
}

static char *s3Strip(char *s) {
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    return s;
}

/***********************************************************************************************************************
 * Credentials: the given key pair, then the shared credentials and config files
 **********************************************************************************************************************/

/* Read key from section of an INI file (the AWS shared files). In
 * ~/.aws/config a profile's section is "[profile NAME]" (but "[default]");
 * in ~/.aws/credentials it is "[NAME]". Returns a malloc'd value or NULL. */
static char *s3IniGet(const char *path, const char *profile, bool configStyle, const char *key) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *wanted =
        configStyle && strcmp(profile, "default") != 0 ? lbXasprintf("profile %s", profile) : lbXstrdup(profile);
    char *value = NULL;
    bool inSection = false;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) >= 0) {
        char *s = s3Strip(line);
        if (*s == '#' || *s == ';' || *s == '\0')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (close == NULL)
                continue;
            *close = '\0';
            char *name = s3Strip(s + 1);
            /* collapse "profile    x" */
            inSection = strcmp(name, wanted) == 0;
            if (!inSection && configStyle && strncmp(name, "profile", 7) == 0 && isspace((unsigned char)name[7])) {
                char *rest = s3Strip(name + 7);
                inSection = strcmp(profile, "default") != 0 && strcmp(rest, profile) == 0;
            }
            continue;
        }
        if (!inSection)
            continue;
        char *eq = strchr(s, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        char *k = s3Strip(s);
        char *v = s3Strip(eq + 1);
        if (strcasecmp(k, key) == 0) {
            s3FreeSecret(value);
            value = lbXstrdup(v);
        }
    }
    if (line != NULL) {
        OPENSSL_cleanse(line, cap);
        free(line);
    }
    fclose(f);
    free(wanted);
    return value;
}

/* A shared AWS file: the path given, else HOME/.aws/LEAF (NULL without a home). */
static char *s3AwsFile(const char *given, const char *home, const char *leaf) {
    if (given != NULL && given[0] != '\0')
        return lbXstrdup(given);
    return home != NULL && home[0] != '\0' ? lbXasprintf("%s/.aws/%s", home, leaf) : NULL;
}

const char *s3OptString(const char *s) {
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Fill c's credentials and region from opts. Fails with LB_ERR_AUTH when no
 * access key / secret key pair can be found; a half pair is an error too
 * (silently mixing sources would sign with a wrong key). */
bool s3LoadCredentials(S3Client *c, const StorageS3Options *opts, LbError *err) {
    const char *profile = s3OptString(opts->profile);
    if (profile == NULL)
        profile = "default";
    char *credFile = s3AwsFile(opts->credentialsFile, opts->home, "credentials");
    char *confFile = s3AwsFile(opts->configFile, opts->home, "config");

    const char *ak = s3OptString(opts->accessKeyId);
    const char *sk = s3OptString(opts->secretAccessKey);
    bool ok = false;
    if (ak != NULL || sk != NULL) {
        if (ak == NULL || sk == NULL) {
            lbErr(err, LB_ERR_AUTH, "unable to use S3 credentials from the environment: %s is set but %s is not",
                  ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                  ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
            goto cleanup;
        }
        c->accessKey = lbXstrdup(ak);
        c->secretKey = lbXstrdup(sk);
        const char *token = s3OptString(opts->sessionToken);
        c->sessionToken = token ? lbXstrdup(token) : NULL;
        c->credSource = lbXstrdup("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    } else {
        const char *files[2] = {credFile, confFile};
        for (int i = 0; i < 2 && c->accessKey == NULL; i++) {
            if (files[i] == NULL)
                continue;
            char *fak = s3IniGet(files[i], profile, i == 1, "aws_access_key_id");
            char *fsk = s3IniGet(files[i], profile, i == 1, "aws_secret_access_key");
            if (fak != NULL && fsk != NULL) {
                c->accessKey = fak;
                c->secretKey = fsk;
                c->sessionToken = s3IniGet(files[i], profile, i == 1, "aws_session_token");
                c->credSource = lbXasprintf("profile '%s' in %s", profile, files[i]);
            } else {
                free(fak);
                s3FreeSecret(fsk);
            }
        }
        if (c->accessKey == NULL) {
            lbErr(err, LB_ERR_AUTH,
                  "unable to find S3 credentials for bucket '%s': no access key pair given (AWS_ACCESS_KEY_ID and "
                  "AWS_SECRET_ACCESS_KEY) and no profile '%s' with one in %s%s%s",
                  c->bucket, profile, credFile ? credFile : "~/.aws/credentials", confFile ? " or " : "",
                  confFile ? confFile : "");
            goto cleanup;
        }
    }

    const char *region = s3OptString(opts->region);
    if (region != NULL) {
        c->region = lbXstrdup(region);
    } else {
        char *fromFile = confFile ? s3IniGet(confFile, profile, true, "region") : NULL;
        c->region = fromFile ? fromFile : lbXstrdup(S3_DEFAULT_REGION);
    }
    ok = true;

cleanup:
    free(credFile);
    free(confFile);
    return ok;
}
